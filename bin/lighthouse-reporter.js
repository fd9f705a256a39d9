#!/usr/bin/env -S node --max-semi-space-size=1
// A 1 MB young generation (default up to 16 MB): the reporter's garbage is short-lived, so a
// small one costs little. bench/reporter-checks.ts (1,000 HTTP checks/s): RSS ~100 MB instead
// of ~115 MB, CPU 5.1-5.6% vs 3.5-5.2% of a core. (--optimize-for-size: ~80 MB, 6.3-6.5%.)
// Applies when run through this file (npm bin, Docker); `node bin/...` skips the shebang.
import "../dist/cli/lighthouse-reporter.js";
