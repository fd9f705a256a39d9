#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size
// V8 flags for a small, steady footprint. The reporter's live heap is small (~22 MB with 1,000
// services, ~12 MB of it the modules), but by default V8 lets the old generation grow well past
// it between major GCs, and a young generation of up to 16 MB. A 1 MB young generation (the
// reporter's garbage is short-lived) and --optimize-for-size (a tighter heap-growing policy)
// keep RSS near live + node itself. bench/reporter-checks.ts (1,000 HTTP checks/s): RSS
// ~100 MB -> ~83 MB; CPU within this VM's noise (both 4.6-6% of a core per 5 s window).
// Applies when run through this file (npm bin, Docker); `node bin/...` skips the shebang.
import "../dist/cli/lighthouse-reporter.js";
