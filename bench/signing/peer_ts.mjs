// Runs in the throwaway npm folder of the TypeScript SDK (@nktkas/hyperliquid + viem).
// Usage: node peer_ts.mjs KEY NONCE0 SECONDS REPEATS ACTION_JSON — prints one JSON line.
import { signL1Action } from "@nktkas/hyperliquid_client/signing";
import { privateKeyToAccount } from "viem/accounts";
import { readFileSync } from "node:fs";

const [key, nonce0s, secondsS, repeatsS, actionJson] = process.argv.slice(2);
const nonce0 = Number(nonce0s), seconds = Number(secondsS), repeats = Number(repeatsS);
const action = JSON.parse(actionJson);
const wallet = privateKeyToAccount(key);

async function measure(step) {
  let n = 1, dt;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await step(i);
    dt = (performance.now() - t0) / 1000;
    if (dt > 0.1) break;
    n *= 2;
  }
  const perRepeat = Math.max(1, Math.floor(n * seconds / dt));
  let best = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let i = 0; i < perRepeat; i++) await step(i);
    const d = (performance.now() - t0) / 1000;
    best = Math.max(best, perRepeat / d);
  }
  return best;
}

const sig = await signL1Action({ wallet, action, nonce: nonce0 });
const ops = await measure((i) => signL1Action({ wallet, action, nonce: nonce0 + i }));
const pkg = (name) => JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;
console.log(JSON.stringify({
  ops_per_s: ops,
  signature: sig,
  detail: `@nktkas/hyperliquid ${pkg("@nktkas/hyperliquid")}, viem ${pkg("viem")}, node ${process.version}`,
}));
