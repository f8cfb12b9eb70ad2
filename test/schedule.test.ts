// Learning-rate schedules against values computed by hand from Transformers' formulas.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, learningRate, learningRateSchedule, sftConfig, totalTrainingSteps, warmupSteps, type ScheduleOptions } from 'webrlhf';

const test = suite('learning-rate schedules');

const close = (got: number[], want: number[], what: string) => {
  assert.is(got.length, want.length, what);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]!) <= 1e-12, `${what}, step ${i}: ${g} ≠ ${want[i]}`));
};
const rates = (options: ScheduleOptions, steps: number[]) => steps.map((s) => learningRate(s, options));

test('constant: linear warm-up from 0 (the first update at 0), then the peak; constant_with_warmup is the same', () => {
  const o: ScheduleOptions = { lr: 1, type: 'constant', warmup_steps: 4, total_steps: 10 };
  close(rates(o, [0, 1, 2, 3, 4, 5, 9, 10, 20]), [0, 0.25, 0.5, 0.75, 1, 1, 1, 1, 1], 'constant');
  close(rates({ ...o, type: 'constant_with_warmup' }, [0, 1, 2, 3, 4, 5, 9]), [0, 0.25, 0.5, 0.75, 1, 1, 1], 'constant_with_warmup');
  close(rates({ ...o, warmup_steps: 0 }, [0, 5]), [1, 1], 'no warm-up');
});

test('linear: warm-up, then (total − step) / (total − warmup), 0 from total_steps on', () => {
  const o: ScheduleOptions = { lr: 0.1, type: 'linear', warmup_steps: 2, total_steps: 10 };
  close(rates(o, [0, 1, 2, 3, 6, 9, 10, 12]), [0, 0.05, 0.1, 0.0875, 0.05, 0.0125, 0, 0], 'linear');
  close(rates({ ...o, warmup_steps: 0 }, [0, 1, 5, 10]), [0.1, 0.09, 0.05, 0], 'linear without warm-up');
  close(rates({ ...o, warmup_steps: 10 }, [9, 10]), [0.09, 0], 'warm-up as long as the run');
});

test('cosine: warm-up, then ½(1 + cos(π·progress)), 0 at total_steps and after', () => {
  const o: ScheduleOptions = { lr: 1, type: 'cosine', warmup_steps: 0, total_steps: 4 };
  close(rates(o, [0, 1, 2, 3, 4, 5, 8]), [1, 0.8535533905932737, 0.5, 0.14644660940672627, 0, 0, 0], 'cosine');
  const w: ScheduleOptions = { lr: 2e-3, type: 'cosine', warmup_steps: 2, total_steps: 6 };
  close(rates(w, [0, 1, 2, 3, 4, 5, 6]), [0, 1e-3, 2e-3, 2e-3 * 0.8535533905932737, 1e-3, 2e-3 * 0.14644660940672627, 0], 'cosine with warm-up');
});

test('warmupSteps: warmup_steps wins when > 0, else ceil(ratio × total)', () => {
  assert.is(warmupSteps({ warmup_steps: 0, warmup_ratio: 0.1 }, 25), 3);
  assert.is(warmupSteps({ warmup_steps: 0, warmup_ratio: 0.1 }, 20), 2);
  assert.is(warmupSteps({ warmup_steps: 5, warmup_ratio: 0.5 }, 100), 5);
  assert.is(warmupSteps({ warmup_steps: 0, warmup_ratio: 0 }, 100), 0);
});

test('totalTrainingSteps: max_steps when > 0, else ceil(epochs × updates per epoch)', () => {
  assert.is(totalTrainingSteps({ max_steps: 7, num_train_epochs: 3 }, 100), 7);
  assert.is(totalTrainingSteps({ max_steps: -1, num_train_epochs: 2.5 }, 4), 10);
  assert.is(totalTrainingSteps({ max_steps: 0, num_train_epochs: 1.5 }, 10), 15);
  assert.is(totalTrainingSteps({ max_steps: -1, num_train_epochs: 1 }, 0), 1, 'at least one update per epoch');
});

test('learningRateSchedule: from a config, warm-up ratio resolved against the total', () => {
  const lr = learningRateSchedule(sftConfig({ learning_rate: 1e-3, warmup_ratio: 0.1, lr_scheduler_type: 'linear' }), 20);
  close([0, 1, 2, 11, 20].map(lr), [0, 5e-4, 1e-3, 1e-3 * (9 / 18), 0], 'linear, 2 warm-up steps of 20');
});

test('bad schedule inputs are ConfigErrors naming the input', () => {
  const o: ScheduleOptions = { lr: 1, type: 'linear', warmup_steps: 0, total_steps: 10 };
  const message = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      return e.message;
    }
    return 'no error';
  };
  assert.is(message(() => learningRate(-1, o)), 'learning-rate schedule: step must be an integer ≥ 0, got -1');
  assert.is(message(() => learningRate(1.5, o)), 'learning-rate schedule: step must be an integer ≥ 0, got 1.5');
  assert.is(message(() => learningRate(0, { ...o, total_steps: 0 })), 'learning-rate schedule: total_steps must be an integer ≥ 1, got 0');
  assert.is(message(() => learningRate(0, { ...o, lr: Number.NaN })), 'learning-rate schedule: lr must be a number ≥ 0, got NaN');
  assert.match(message(() => learningRate(0, { ...o, type: 'step' as 'linear' })), /type must be one of "constant", "constant_with_warmup", "linear", "cosine", got "step"/);
  assert.is(message(() => learningRateSchedule(sftConfig(), 0)), 'learning-rate schedule: total_steps must be an integer ≥ 1, got 0');
});

test.run();
