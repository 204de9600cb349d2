import { assertEquals } from "@std/assert";
import { join } from "node:path";
import { atomicWriteFile, sha256Hex } from "../../lib/core/mod.ts";

Deno.test('sha256Hex() matches the FIPS 180-2 test vector for "abc"', async () => {
  assertEquals(
    await sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("atomicWriteFile() creates folders, replaces the file and leaves no temporary file", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = join(root, "a", "b", "file.bin");
    await atomicWriteFile(path, new Uint8Array([1, 2, 3]));
    await atomicWriteFile(path, new Uint8Array([4, 5]));
    assertEquals([...await Deno.readFile(path)], [4, 5]);
    assertEquals([...Deno.readDirSync(join(root, "a", "b"))].map((e) => e.name), ["file.bin"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
