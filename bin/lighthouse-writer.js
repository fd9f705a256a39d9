#!/usr/bin/env -S node --max-old-space-size=1024 --max-semi-space-size=4 --heap-growing-percent=10
// V8 flags for a steady footprint. With no explicit heap limit V8 sizes the heap for the
// machine (4 GB here) and keeps what a load grew, though the writer's live heap is small (~70
// MB with 1,000 clusters x 50 nodes). An explicit limit makes it shrink back once a load is
// over; 1 GB leaves ~15x the headroom of that figure. A 4 MB young generation (default 16)
// with no premature promotions (2 MB was worse: the load's replies then reach old space).
// bench/writer-process-scale.ts (1,000 x 50): RSS ~270-290 MB -> ~150-180 MB, CPU unchanged.
// (--optimize-for-size starved the writer at that scale: sessions lost during the load.)
// Applies when run through this file (npm bin, Docker); `node [FLAGS] bin/...` skips the
// shebang: the way to give a writer of more than ~500,000 znodes a larger heap.
import "../dist/cli/lighthouse-writer.js";
