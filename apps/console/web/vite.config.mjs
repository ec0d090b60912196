/* global Buffer, console */
/* The console's web app: Vite transforms the TSX itself (automatic JSX runtime) into dist/apps/console/web. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));

/** Prints the size of what a browser downloads (every emitted file), raw and gzip. */
function bundleSize() {
  return {
    name: 'sepal-bundle-size',
    writeBundle(_options, bundle) {
      let raw = 0;
      let gzip = 0;
      let files = 0;
      for (const file of Object.values(bundle)) {
        const content = file.type === 'chunk' ? file.code : file.source;
        const bytes = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
        raw += bytes.length;
        gzip += gzipSync(bytes).length;
        files += 1;
      }
      const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
      console.log(`console bundle: ${files} files, ${kb(raw)} (${kb(gzip)} gzip)`);
    },
  };
}

export default defineConfig({
  root: here,
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic' } },
  plugins: [bundleSize()],
  build: {
    outDir: resolve(here, '../../../dist/apps/console/web'),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
});
