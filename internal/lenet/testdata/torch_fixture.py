#!/usr/bin/env python3
"""PyTorch fixtures for convkit's LeNet-5 and safetensors tests.

  python3 torch_fixture.py write [DIR]   writes DIR/lenet.safetensors (the
      state_dict of torch_lenet.py's network, seeded) and DIR/lenet_io.safetensors
      (an input batch and PyTorch's logits for it)
  python3 torch_fixture.py read FILE [DIR]
      loads FILE, a state dict that convkit wrote, into the same network with
      load_state_dict(strict=True) and prints how far its logits on DIR's
      input are from the logits stored beside FILE's tensors (if it has them)

Needs only Debian's python3-torch and numpy: the safetensors format (an
8-byte little-endian header length, a JSON header, raw little-endian data) is
written and read here by hand, so no safetensors package is required.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[a.dtype]
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(body[b:end], dtype=np.dtype(DTYPES[e["dtype"]]).newbyteorder("<")).reshape(e["shape"])
    return out


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "write"
    here = os.path.dirname(os.path.abspath(__file__))
    if mode == "write":
        d = sys.argv[2] if len(sys.argv) > 2 else here
        torch.manual_seed(0)
        model = lenet().eval()
        x = torch.randn(5, 1, 28, 28, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            logits = model(x)
        state = {k: v.numpy() for k, v in model.state_dict().items()}
        write_safetensors(os.path.join(d, "lenet.safetensors"), state, {"format": "pt", "source": "torch_fixture.py"})
        write_safetensors(os.path.join(d, "lenet_io.safetensors"), {"input": x.numpy(), "logits": logits.numpy()})
        print("torch %s: wrote %d tensors; logits[0] = %s" % (torch.__version__, len(state), logits[0].numpy()))
    elif mode == "read":
        path = sys.argv[2]
        d = sys.argv[3] if len(sys.argv) > 3 else here
        state = read_safetensors(path)
        model = lenet().eval()
        model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items() if not k.startswith("opt.")}, strict=True)
        io = read_safetensors(os.path.join(d, "lenet_io.safetensors"))
        with torch.no_grad():
            logits = model(torch.from_numpy(np.array(io["input"]))).numpy()
        print("torch %s read %s: %d tensors; logits[0] = %s" % (torch.__version__, path, len(state), logits[0]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
