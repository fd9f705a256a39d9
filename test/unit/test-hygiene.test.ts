/**
 * Rules about the tests themselves.
 *
 * `assert.ok(x)` / `assert(x)` without a message: when it fails, node builds the message from
 * the call's source, re-parsing the file with acorn from the call site. Under tsx the call site
 * is a position in the transpiled code (line 1, column 9551 in zookeeper.test.ts), the file on
 * disk is the TypeScript source, and node 20 parses its way through the file for minutes at
 * full CPU: the test does not fail, it hangs until the file's timeout (seen here: the suite's
 * intermittent 180 s hang, a failing assert with no message). Every such call names what it
 * expects instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../..', import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** `assert(x)` and `assert.ok(x)` calls with no message, as "file:line: call". */
function messageLessAsserts(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.arguments.length < 2) {
      const callee = node.expression.getText(sf);
      if (callee === 'assert' || callee === 'assert.ok') {
        const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
        found.push(`${relative(root, file)}:${line}: ${node.getText(sf).slice(0, 80)}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

test('the rule finds a message-less assert.ok and assert, and passes one with a message', () => {
  const src = "assert.ok(a);\nassert(b);\nassert.ok(c, 'c is set');\nassert.equal(d, 1);\n";
  assert.deepEqual(
    messageLessAsserts(join(root, 'x.ts'), src).map((s) => s.split(':')[1]),
    ['1', '2'],
  );
});

test('every assert.ok / assert in test/ and bench/ has a message (a failing one without hangs under tsx)', () => {
  const found = [...tsFiles(join(root, 'test')), ...tsFiles(join(root, 'bench'))].flatMap((f) => messageLessAsserts(f, readFileSync(f, 'utf8')));
  assert.deepEqual(found, [], `give these a message:\n${found.join('\n')}`);
});

test('product code (src/, scripts/) never imports from test/: what it shares with tests lives in scripts/lib/', () => {
  const found = [...tsFiles(join(root, 'src')), ...tsFiles(join(root, 'scripts'))].filter((f) => /from '(\.\.\/)+test\//.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
  assert.deepEqual(found, [], `these import from test/:\n${found.join('\n')}`);
});

test('src/core depends on no plugin: it imports nothing outside src/core', () => {
  const found = tsFiles(join(root, 'src/core')).filter((f) => /from '\.\.\//.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
  assert.deepEqual(found, [], `these import from outside src/core:\n${found.join('\n')}`);
});
