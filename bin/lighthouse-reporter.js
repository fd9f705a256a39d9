#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size --liftoff-only
// V8 flags for a small, steady footprint. The reporter's live heap is small (~22 MB with 1,000
// services, ~12 MB of it the modules), but by default V8 lets the old generation grow well past
// it between major GCs, and a young generation of up to 16 MB. A 1 MB young generation (the
// reporter's garbage is short-lived) and --optimize-for-size (a tighter heap-growing policy)
// keep RSS near live + node itself. bench/reporter-checks.ts (1,000 HTTP checks/s): RSS
// ~100 MB -> ~83 MB; CPU within this VM's noise (both 4.6-6% of a core per 5 s window).
// --liftoff-only: the one WebAssembly module is undici's HTTP parser (llhttp), which V8 otherwise
// compiles whole with TurboFan on the first request, ~10 MB of RSS; its baseline code is ~3 MB
// and parses a health check's few headers as fast as far as bench/reporter-checks.ts can tell.
// Applies when run through this file (npm bin, Docker); `node bin/...` skips the shebang.
import "../dist/cli/lighthouse-reporter.js";
