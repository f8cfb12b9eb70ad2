// The built-in arithmetic task of RLMEC: problems, solutions, answer extraction, the checker
// that finds the first wrong step, and the minimum-edit teacher.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, arithmeticSplits, checkSolution, extractAnswer, formatSolution, generateArithmeticProblems, minimumEditRewrite, type ArithmeticProblem } from 'webrlhf';

const test = suite('arithmetic task');

/** "Ann has 3 apples. Gets 5 more. Gives away 2. How many apples now?" */
const PROBLEM: ArithmeticProblem = {
  question: 'Ann has 3 apples. Gets 5 more. Gives away 2. How many apples now?',
  steps: [{ left: 3, op: '+', right: 5, result: 8 }, { left: 8, op: '-', right: 2, result: 6 }],
  answer: 6,
};

test('problems are seeded, well-formed, and harder at higher difficulty', () => {
  const a = generateArithmeticProblems({ seed: 1, count: 200, difficulty: 3 });
  assert.equal(a, generateArithmeticProblems({ seed: 1, count: 200, difficulty: 3 }), 'the same seed gives the same problems');
  assert.not.equal(a, generateArithmeticProblems({ seed: 2, count: 200, difficulty: 3 }));
  for (const d of [1, 2, 3] as const) {
    const problems = generateArithmeticProblems({ seed: 5, count: 300, difficulty: d });
    for (const p of problems) {
      assert.is(p.steps.length, d);
      p.steps.forEach((s, i) => {
        assert.is(s.left, i === 0 ? s.left : p.steps[i - 1]!.result, 'each step starts from the previous result');
        assert.is(s.result, s.op === '+' ? s.left + s.right : s.op === '-' ? s.left - s.right : s.left * s.right);
        assert.ok(s.result >= 0, 'never below zero');
      });
      assert.is(p.answer, p.steps.at(-1)!.result);
      assert.ok(p.question.endsWith('now?'));
      const solution = formatSolution(p);
      assert.is(checkSolution(p, solution).firstError, undefined, 'the reference solution checks');
      assert.ok(checkSolution(p, solution).correct);
    }
    if (d === 3) assert.ok(problems.some((p) => p.steps.some((s) => s.op === '*')), 'difficulty 3 multiplies');
    else assert.ok(problems.every((p) => p.steps.every((s) => s.op !== '*')));
  }
  assert.throws(() => generateArithmeticProblems({ seed: 1, count: 1, difficulty: 4 as never }), (e: unknown) => e instanceof ConfigError && /difficulty/.test((e as Error).message));
});

test('solutions and answers read as the spec says', () => {
  assert.is(formatSolution(PROBLEM), '3+5=8\n8-2=6\nThe answer is 6');
  assert.is(extractAnswer('3+5=8\nThe answer is 42'), 42);
  assert.is(extractAnswer('The answer is 4\nThe answer is  7.'), 7, 'the last one, spaces allowed');
  assert.is(extractAnswer('The answer is -3'), -3);
  assert.is(extractAnswer('no answer here'), undefined);
  assert.is(extractAnswer('The answer is x'), undefined);
});

test('the checker finds the first wrong step of any prediction', () => {
  const first = (text: string) => checkSolution(PROBLEM, text).firstError;
  assert.is(first('3+5=8\n8-2=6\nThe answer is 6'), undefined);
  assert.is(first('3 + 5 = 8\n8 - 2 = 6\nThe answer is 6\n'), undefined, 'spaces and a final newline are fine');
  assert.is(first('3+5=9\n9-2=7\nThe answer is 7'), 0, 'a wrong result');
  assert.is(first('3+5=8\n8+2=10\nThe answer is 10'), 1, 'a wrong operator');
  assert.is(first('3+5=8\n8-3=5\nThe answer is 5'), 1, 'a wrong operand');
  assert.is(first('3+5=8\n8-2=6\nThe answer is 5'), 2, 'a wrong answer line');
  assert.is(first('3+5=8'), 1, 'stops early: the first missing line');
  assert.is(first('3+5=8\n8-2=6\nThe answer is 6\nmore'), 3, 'extra lines after the answer');
  assert.is(first('hello'), 0, 'garbage');
  assert.is(checkSolution(PROBLEM, '3+5=9\n9-3=6\nThe answer is 6').correct, true, 'the right answer by a wrong path is correct, with an error at step 0');
  assert.is(checkSolution(PROBLEM, '3+5=9\n9-3=6\nThe answer is 6').firstError, 0);
});

test('the minimum-edit teacher keeps the steps before the first error verbatim and continues correctly', () => {
  const cases = [
    ['3 + 5 = 8\n8+2=10\nThe answer is 10', '3 + 5 = 8\n8-2=6\nThe answer is 6'],
    ['3+5=9\n9-2=7\nThe answer is 7', '3+5=8\n8-2=6\nThe answer is 6'],
    ['3+5=8\n8-2=6\nThe answer is 5', '3+5=8\n8-2=6\nThe answer is 6'],
    ['3+5=8', '3+5=8\n8-2=6\nThe answer is 6'],
    ['3+5=8\n8-2=6\nThe answer is 6\nmore', '3+5=8\n8-2=6\nThe answer is 6'],
  ];
  for (const [prediction, want] of cases) {
    const rewrite = minimumEditRewrite(PROBLEM, prediction!);
    assert.is(rewrite, want, `rewrite of ${JSON.stringify(prediction)}`);
    const check = checkSolution(PROBLEM, rewrite);
    assert.ok(check.correct && check.firstError === undefined, 'the rewrite is correct');
    const before = checkSolution(PROBLEM, prediction!).firstError!;
    assert.equal(rewrite.split('\n').slice(0, before), prediction!.split('\n').slice(0, before), 'only the wrong step and what follows change');
  }
  assert.is(minimumEditRewrite(PROBLEM, '3+5=8\n8-2=6\nThe answer is 6'), '3+5=8\n8-2=6\nThe answer is 6', 'a correct prediction is its own rewrite');
  // On generated problems: corrupt one step, and the rewrite fixes exactly from there.
  for (const p of generateArithmeticProblems({ seed: 9, count: 100, difficulty: 3 })) {
    const lines = formatSolution(p).split('\n');
    const k = p.steps.length - 1;
    lines[k] = lines[k]!.replace(/=(\d+)$/, (_, n) => `=${Number(n) + 1}`);
    const rewrite = minimumEditRewrite(p, lines.join('\n'));
    assert.is(rewrite, formatSolution(p));
  }
});

test('splits share no question', () => {
  const s = arithmeticSplits({ seed: 3, difficulty: 1, sft: 400, rl: 200, test: 200 });
  const sft = new Set(s.sft.map((e) => e.prompt.trim()));
  const rl = new Set(s.rl.map((p) => p.question));
  for (const p of s.test) assert.ok(!sft.has(p.question) && !rl.has(p.question));
  for (const p of s.rl) assert.ok(!sft.has(p.question));
  assert.ok(s.sft.length > 350 && s.rl.length > 150 && s.test.length > 150, `sizes ${s.sft.length} ${s.rl.length} ${s.test.length}`);
  assert.is(s.sft[0]!.completion.split('\n').at(-1)!.startsWith('The answer is '), true);
});

test.run();
