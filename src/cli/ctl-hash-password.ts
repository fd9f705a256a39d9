/**
 * `lighthousectl hash-password`: the scrypt hash for users.yaml's `password_hash` (or a
 * `tokens:` entry). The secret comes from a TTY prompt (not echoed, asked twice) or from stdin,
 * never from argv (which other users see in `ps`); the hash is printed on the last line.
 */
import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { hashSecret } from '../http/users.js';
import { usage } from './common.js';

async function fromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function prompt(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    // echo nothing of what is typed
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.startsWith(question)) process.stderr.write(question);
    };
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

export function registerHashPassword(cli: Command): void {
  cli
    .command('hash-password')
    .description("print the scrypt hash of a password (or token) for users.yaml's password_hash / tokens")
    .addHelpText('after', '\nThe password is read from a prompt on a terminal, else from stdin (one line); never give it as an argument.\nExample: lighthousectl hash-password < secret.txt\n')
    .action(async () => {
      let secret: string;
      if (process.stdin.isTTY) {
        secret = await prompt('Password: ');
        if ((await prompt('Again: ')) !== secret) usage('the two passwords differ');
      } else secret = await fromStdin();
      if (!secret) usage('empty password');
      process.stdout.write(`${await hashSecret(secret)}\n`);
    });
}
