// @huggingface/jinja's rendering of chat templates (transformers' semantics in JavaScript): the
// reference mixq's chat-template engine is compared against.
// Usage: node render_chat.mjs NPM_DIR CONVERSATIONS_JSON TEMPLATE_FILE...
// A template file ending in .json is a tokenizer_config.json (its chat_template, bos/eos tokens).
// Prints {"<template file>": [{"text": ...} or {"error": ...} per conversation]}.
import { createRequire } from 'module';
import { readFileSync } from 'fs';

const [npmDir, conversationsPath, ...templates] = process.argv.slice(2);
const require = createRequire(npmDir + '/node_modules/');
const { Template } = require('@huggingface/jinja');
const conversations = JSON.parse(readFileSync(conversationsPath, 'utf8'));
const token = (t) => (t && typeof t === 'object' ? t.content : t) ?? '';
const out = {};
for (const path of templates) {
  let source = readFileSync(path, 'utf8'), bos = '<s>', eos = '</s>';
  if (path.endsWith('.json')) {
    const config = JSON.parse(source);
    source = config.chat_template;
    bos = token(config.bos_token);
    eos = token(config.eos_token);
  }
  const template = new Template(source);
  out[path] = conversations.map((c) => {
    try {
      return { text: template.render({ ...c, bos_token: bos, eos_token: eos }) };
    } catch (e) {
      return { error: String(e.message ?? e) };
    }
  });
}
process.stdout.write(JSON.stringify(out));
