// Runs inside a piscina worker thread: the pooled routes of piscina.mjs.
import { HELLO_PAGE, HTML, TEXT, sleepBlocking, spinCpu } from './contract.mjs';

const HELLO_TEXT = HELLO_PAGE.toString();

export default function handleTask({ route, ms }) {
  if (route === 'hello') return { type: HTML, body: HELLO_TEXT };
  if (route === 'sleep') {
    sleepBlocking(ms);
    return { type: TEXT, body: `slept ${ms} ms\n` };
  }
  if (route === 'cpu') return { type: TEXT, body: `cpu ${ms} ms, ${spinCpu(ms)}\n` };
  throw new Error(`unknown route ${route}`);
}
