// llama.cpp's own tokenization and logits for a text, through node-llama-cpp's prebuilt libllama
// (scripts/llamacpp_prebuilt.sh): the reference tests/e2e/llamacpp_smoke_test.cpp compares mixq's
// GGUF export against in CI. CPU only, no sampling: BOS, then the text's tokens, and the raw logits
// after every position.
// Usage: node llamacpp_logits.mjs PREBUILT_DIR model.gguf TEXT_FILE MAX_TOKENS (at most 255)
// Prints {"bos": id, "ids": [...], "logits": [[vocab floats] per input position]}.
import { createRequire } from 'module';
import { readFileSync } from 'fs';
import { pathToFileURL } from 'url';

const [dir, modelPath, textPath, maxTokens] = process.argv.slice(2);
const require = createRequire(dir + '/node_modules/');
const { getLlama } = await import(pathToFileURL(require.resolve('node-llama-cpp')).href);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath });
const ids = model.tokenize(readFileSync(textPath, 'utf8'), false).slice(0, Number(maxTokens));
const bos = model.tokens.bos;
// Room to spare: at a full context the last position's logits come out differently.
const context = await model.createContext({ contextSize: 256, batchSize: 256, threads: 1 });
const input = [bos, ...ids].map((t) => [t, { generateNext: { logits: true } }]);
const out = await context.getSequence().controlledEvaluate(input);
const vocab = model.tokens.count ?? out[0].next.logits.size;
const logits = out.map((o) => {
  const row = new Array(vocab).fill(0);
  for (const [token, value] of o.next.logits) row[token] = value;
  return row;
});
process.stdout.write(JSON.stringify({ bos, ids, logits }));
await llama.dispose();
