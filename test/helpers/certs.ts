/** A private CA and certificates signed by it, made with openssl in `dir` (EC P-256, 2 days). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  /** the CA certificate (PEM) path */
  ca: string;
  /** a certificate for `dns` named `name`: NAME.crt and NAME.key in the dir */
  issue(name: string, dns: string): { cert: string; key: string };
}

export function testCa(dir: string): TestCa {
  mkdirSync(dir, { recursive: true });
  const o = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  o('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=lighthouse test CA');
  return {
    ca: join(dir, 'ca.crt'),
    issue(name, dns) {
      o('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=DNS:${dns}\n`);
      o('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
      return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
    },
  };
}
