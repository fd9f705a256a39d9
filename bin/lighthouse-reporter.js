#!/usr/bin/env node
import "../dist/cli/lighthouse-reporter.js";
