#!/usr/bin/env node
import "../dist/cli/lighthousectl.js";
