// The Hugging Face tokenizers library's encoding speed on a text (MB/s, one call, after one warm-up
// call), for scripts/bench_tokenizer.sh to print beside mixq's. Usage: node hf_encode_speed.mjs NPM_DIR tokenizer.json TEXT
import { createRequire } from 'module';
import { readFileSync } from 'fs';

const [npmDir, tokenizerPath, textPath] = process.argv.slice(2);
const require = createRequire(npmDir + '/node_modules/');
const { Tokenizer } = require('@anush008/tokenizers');
const tok = Tokenizer.fromFile(tokenizerPath);
const text = readFileSync(textPath, 'utf8');
const bytes = Buffer.byteLength(text, 'utf8');
await tok.encode(text, null, { addSpecialTokens: false });
const runs = 3;
const t0 = process.hrtime.bigint();
let ids = 0;
for (let i = 0; i < runs; ++i) ids = (await tok.encode(text, null, { addSpecialTokens: false })).getIds().length;
const seconds = Number(process.hrtime.bigint() - t0) / 1e9 / runs;
console.log(JSON.stringify({ mb_per_s: bytes / seconds / 1e6, ids }));
