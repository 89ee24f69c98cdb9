// validate.mjs: reads [{"where": ..., "doc": {...}}, ...] (JSON) on stdin and
// validates each Kubernetes object against the API schema of its apiVersion
// and kind, as compiled into kubernetes-models (from Kubernetes' OpenAPI
// document). Prints one line per problem and a summary; exits 1 on any
// problem, including a kind it has no schema for.
import fs from "node:fs";

const objs = JSON.parse(fs.readFileSync(0, "utf8"));
let bad = 0;
let good = 0;
for (const { where, doc } of objs) {
  const what = `${where}: ${doc.kind} ${doc.metadata?.name ?? "(no name)"}`;
  let Model;
  try {
    Model = (await import(`kubernetes-models/${doc.apiVersion}/${doc.kind}`))[doc.kind];
  } catch (e) {
    Model = undefined;
  }
  if (typeof Model !== "function") {
    console.log(`FAIL: ${what}: no schema for apiVersion ${doc.apiVersion}, kind ${doc.kind}`);
    bad++;
    continue;
  }
  try {
    new Model(doc).validate();
    good++;
  } catch (e) {
    console.log(`FAIL: ${what}: ${e.message}`);
    bad++;
  }
}
console.log(`${good} objects valid, ${bad} problems`);
process.exit(bad > 0 ? 1 : 0);
