#!/usr/bin/env python3
"""Replaces the configuration table in README.md with the output of `tessera config docs`."""
import subprocess, pathlib
root = pathlib.Path(__file__).resolve().parent.parent
table = subprocess.run([str(root / 'node_modules/.bin/node'), 'src/cli/main.ts', 'config', 'docs'], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
readme = root / 'README.md'
s = readme.read_text()
start = s.index('| Variable | File key | Default | Description |')
end = s.index('\n\n', start)  # the table ends at the first blank line
readme.write_text(s[:start] + table + s[end:])
