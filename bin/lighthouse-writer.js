#!/usr/bin/env -S node --optimize-for-size
import "../dist/cli/lighthouse-writer.js";
