// Size budgets: the shipped files may not grow past the budgets kept in size-budget.json
// (gzip -9, measured with the gzip CLI as the README reports them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './harness.mjs';

const budgets = JSON.parse(readFileSync(join(root, 'size-budget.json'), 'utf8'));

for (const [file, budget] of Object.entries(budgets).filter(([key]) => key !== 'comment')) {
  test(`${file} stays within ${budget} bytes gzip -9`, () => {
    const gzip = execFileSync('gzip', ['-9c', join(root, file)]).length;
    assert.ok(gzip <= budget, `${file} is ${gzip} bytes gzip -9, over its budget of ${budget}`);
  });
}
