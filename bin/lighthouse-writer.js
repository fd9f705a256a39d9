#!/usr/bin/env node
import "../dist/cli/lighthouse-writer.js";
