import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
await tf.setBackend("wasm"); await tf.ready();
const be: any = tf.backend();
const asm = be.wasm.asm;
console.log(Object.keys(asm).filter(k=>!k.match(/^_?[A-Z]/)).slice(0,50));
for (const k of Object.keys(asm)) if (asm[k] instanceof WebAssembly.Memory) console.log("memory export:", k, asm[k].buffer.byteLength);
