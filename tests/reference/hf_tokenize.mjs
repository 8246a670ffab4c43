// The Hugging Face tokenizers library's ids for texts: the reference mixq's tokenizer.json reader
// is compared against. Usage: node hf_tokenize.mjs NPM_DIR tokenizer.json TEXT_FILE...
// Prints one JSON object: {"<text file>": {"with_special": [...], "plain": [...], "decoded": "..."}}.
import { createRequire } from 'module';
import { readFileSync } from 'fs';

const [npmDir, tokenizerPath, ...texts] = process.argv.slice(2);
const require = createRequire(npmDir + '/node_modules/');
const { Tokenizer } = require('@anush008/tokenizers');
const tok = Tokenizer.fromFile(tokenizerPath);
const out = {};
for (const path of texts) {
  const text = readFileSync(path, 'utf8');
  const withSpecial = (await tok.encode(text)).getIds();
  const plain = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
  out[path] = { with_special: withSpecial, plain, decoded: await tok.decode(plain, false) };
}
process.stdout.write(JSON.stringify(out));
