package gemm

// jobSet is a Context's job slots as a workers.Task: part i runs job i.
// The team gets a pointer to the Context's own slots, so a hand-off
// allocates nothing.
type jobSet []job

func (s *jobSet) Run(part int) { (*s)[part].run() }

// runParallel runs ctx.jobs[0:t] on the Context's team: job 0 on the
// calling goroutine, the others on its helpers (started on first need),
// and returns when all are done.
func (ctx *Context) runParallel(t int) { ctx.team.Run(&ctx.jobs, t) }
