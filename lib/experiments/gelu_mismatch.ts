/**
 * What a GELU mismatch does to a trained model: the same weights run with another GELU (the tanh
 * approximation, or a mistyped constant), measured as logit drift, perplexity change, and the
 * first token where greedy text diverges.
 *
 * @module
 */
import * as aq from "arquero";
import * as tf from "@tensorflow/tfjs";
import { sampleBatch } from "../core/batches.ts";
import { createRng } from "../core/rng.ts";
import { getActivation } from "../activations/registry.ts";
import { Gpt } from "../gpt/model.ts";
import { generate } from "../gpt/sample.ts";

/** One variant's effect, against the model as trained. */
export interface GeluMismatchRow {
  /** The activation the weights were run with. */
  readonly activation: string;
  /** max |logit − trained logit| over the evaluation batches. */
  readonly maxLogitDrift: number;
  /** mean |logit − trained logit|. */
  readonly meanLogitDrift: number;
  /** Mean cross-entropy on the evaluation batches (nats per token). */
  readonly loss: number;
  /** exp(loss). */
  readonly perplexity: number;
  /** Relative perplexity change against the trained activation, in percent. */
  readonly perplexityChangePct: number;
  /** Index (after the prompt) of the first generated token that differs; null if none does. */
  readonly firstDivergentToken: number | null;
  /** The greedy continuation of the prompt. */
  readonly text: string;
}

/** Options of {@link geluMismatch}. */
export interface GeluMismatchOptions {
  /** Activations to run the weights with. Default: exact GELU, tanh GELU, tanh GELU with 0.44715. */
  readonly variants?: readonly string[];
  /** Greedy-generation prompt (needs the model's tokenizer). Default `"\n"`. */
  readonly prompt?: string;
  /** Tokens generated per variant. Default 200. */
  readonly maxTokens?: number;
  /** Evaluation batches and their size. Defaults 8 and 16. */
  readonly batches?: number;
  /** Sequences per evaluation batch. Default 16. */
  readonly batchSize?: number;
  /** Seed of the evaluation batches. Default 0. */
  readonly seed?: number;
}

/** The result: a row per variant and the same rows as an arquero table. */
export interface GeluMismatch {
  /** One row per variant, the trained activation first. */
  readonly rows: GeluMismatchRow[];
  /** The rows as an arquero table. */
  readonly table: aq.ColumnTable;
  /** The activation the model was trained with (the reference row). */
  readonly trained: string;
  /** The prompt of the greedy texts. */
  readonly prompt: string;
  /** Evaluation tokens per variant. */
  readonly tokens: number;
}

/**
 * Runs `model`'s weights with each GELU variant on batches of `data` (token ids, e.g. the
 * validation split) and from a prompt, against the activation it was trained with.
 *
 * @example
 * ```ts ignore
 * import { geluMismatch } from "@actlab/actlab";
 * const r = await geluMismatch(model, dataset.val, { prompt: "ROMEO:" });
 * r.table.print(); // logit drift, perplexity change, first divergent token per variant
 * ```
 */
export async function geluMismatch(
  model: Gpt,
  data: Int32Array,
  options: GeluMismatchOptions = {},
): Promise<GeluMismatch> {
  const variants = options.variants ?? ["gelu", "gelu_tanh", "gelu_tanh(cubic=0.44715)"];
  const prompt = options.prompt ?? "\n";
  const maxTokens = options.maxTokens ?? 200;
  const shape = { batchSize: options.batchSize ?? 16, blockSize: model.config.blockSize };
  const rng = createRng(options.seed ?? 0);
  const batches = Array.from({ length: options.batches ?? 8 }, () => sampleBatch(data, shape, rng));
  const toTensor = (a: Int32Array) => tf.tensor2d(a, [shape.batchSize, shape.blockSize], "int32");

  const evaluate = async (m: Gpt) => {
    const logits: Float32Array[] = [];
    let loss = 0;
    for (const b of batches) {
      const [l, v] = tf.tidy(() => {
        const x = toTensor(b.x);
        return [m.logits(x), m.loss(x, toTensor(b.y))];
      });
      logits.push((await l.data()) as Float32Array);
      loss += (await v.data())[0] / batches.length;
      tf.dispose([l, v]);
    }
    const text = await generate(m, prompt, { maxTokens, temperature: 0 });
    return { logits, loss, text: text.slice(prompt.length) };
  };

  const activations = variants.map((name) => getActivation(name));
  for (const activation of activations) {
    if (activation.kind !== model.activation.kind) {
      throw new Error(
        `geluMismatch: '${activation.name}' is ${activation.kind} but the model's MLP is ` +
          `${model.activation.kind}; compare activations of the same kind.`,
      );
    }
  }
  if (!model.tokenizer) {
    throw new Error("geluMismatch: the model needs its tokenizer for the greedy-text comparison.");
  }
  const trained = await evaluate(model);
  const values = new Map<string, tf.Tensor>(model.variables);
  const rows: GeluMismatchRow[] = [];
  for (const activation of activations) {
    const isTrained = activation.name === model.activation.name;
    const variant = isTrained
      ? model
      : new Gpt(model.config, values, { tokenizer: model.tokenizer, activation });
    try {
      const run = isTrained ? trained : await evaluate(variant);
      let max = 0;
      let sum = 0;
      let n = 0;
      run.logits.forEach((l, i) => {
        const ref = trained.logits[i];
        for (let j = 0; j < l.length; j++) {
          const d = Math.abs(l[j] - ref[j]);
          max = Math.max(max, d);
          sum += d;
          n++;
        }
      });
      const chars = [...run.text];
      const refChars = [...trained.text];
      const k = chars.findIndex((c, i) => c !== refChars[i]);
      rows.push({
        activation: activation.name,
        maxLogitDrift: max,
        meanLogitDrift: sum / n,
        loss: run.loss,
        perplexity: Math.exp(run.loss),
        perplexityChangePct: 100 * (Math.exp(run.loss - trained.loss) - 1),
        firstDivergentToken: k === -1 ? null : k,
        text: run.text,
      });
    } finally {
      if (!isTrained) variant.dispose();
    }
  }
  return {
    rows,
    table: aq.from(rows),
    trained: model.activation.name,
    prompt,
    tokens: batches.length * shape.batchSize * shape.blockSize,
  };
}
