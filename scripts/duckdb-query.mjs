// Runs SQL statements given as arguments in an in-memory DuckDB and prints each
// result as one line of JSON (an array of row objects). Used by the tests to read
// lakefuse's output with another engine, and by the benchmark.
import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const conn = await inst.connect();
for (const sql of process.argv.slice(2)) {
  const result = await conn.runAndReadAll(sql);
  console.log(JSON.stringify(result.getRowObjectsJson()));
}
