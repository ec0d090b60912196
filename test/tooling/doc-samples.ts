/*
 * What test/tooling/doc-samples.test.ts reads in the manual: the fenced code blocks of README.md and docs/*.md, the
 * shell commands in them (a small tokenizer: quotes, backslash continuations, comments, && | ;), and the relative
 * links with their anchors.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fromRoot } from '../../scripts/docs/repo-root';

export interface Block {
  file: string;
  /** The line of the opening fence. */
  line: number;
  lang: string;
  body: string;
}

/** README.md and every page of docs/, as paths from the repository's root. */
export function manualFiles(): string[] {
  const pages = readdirSync(fromRoot('docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...pages];
}

export const readManual = (file: string) => readFileSync(fromRoot(file), 'utf8');

export function fencedBlocks(file: string, text: string = readManual(file)): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    blocks.push({ file, line: start + 1, lang: open[1], body: body.join('\n') });
  }
  return blocks;
}

export interface ShellCommand {
  /** The source line the command starts on, within its block. */
  text: string;
  words: string[];
}

const OPERATORS = new Set(['&&', '||', '|', ';']);

/**
 * The commands of a shell snippet: backslash continuations joined, `# comments` dropped, words split as the shell
 * would (single and double quotes, `$(...)` kept as one word), commands split at && || | ;.
 */
export function shellCommands(body: string): ShellCommand[] {
  const commands: ShellCommand[] = [];
  for (const line of body.replace(/\\\n/g, ' ').split('\n')) {
    let words: string[] = [];
    let word: string | null = null;
    let quote: string | null = null;
    let depth = 0;
    const end = () => {
      if (word !== null) words.push(word);
      word = null;
    };
    const flush = () => {
      end();
      if (words.length > 0) commands.push({ text: line.trim(), words });
      words = [];
    };
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (c === '\\' && quote !== "'" && i + 1 < line.length) {
        word = (word ?? '') + line[++i];
        continue;
      }
      if (quote) {
        if (c === quote) quote = null;
        else word = (word ?? '') + c;
        continue;
      }
      if (depth > 0) {
        word = (word ?? '') + c;
        if (c === '(') depth++;
        if (c === ')') depth--;
        continue;
      }
      if (c === "'" || c === '"') {
        quote = c;
        word = word ?? '';
      } else if (c === '$' && line[i + 1] === '(') {
        word = `${word ?? ''}$(`;
        depth = 1;
        i++;
      } else if (c === '#' && word === null) {
        break;
      } else if (/\s/.test(c)) {
        end();
      } else if (word === null && OPERATORS.has(line.slice(i, i + 2))) {
        flush();
        i++;
      } else if (word === null && OPERATORS.has(c)) {
        flush();
      } else {
        word = (word ?? '') + c;
      }
    }
    if (quote) throw new Error(`unclosed ${quote} in: ${line}`);
    flush();
  }
  return commands;
}

export interface Link {
  file: string;
  target: string;
  anchor?: string;
}

/** Relative Markdown links ([text](path#anchor)) outside code; web addresses are not followed. */
export function relativeLinks(file: string, text: string = readManual(file)): Link[] {
  const prose = text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  const links: Link[] = [];
  for (const match of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    const href = match[1];
    if (/^[a-z]+:/.test(href)) continue;
    const [target, anchor] = href.split('#');
    links.push({ file, target, anchor: anchor || undefined });
  }
  return links;
}

/** The anchors GitHub gives a page's headings. */
export function headingAnchors(text: string): Set<string> {
  const prose = text.replace(/^```[\s\S]*?^```/gm, '');
  const anchors = new Set<string>();
  for (const match of prose.matchAll(/^#{1,6} +(.+)$/gm)) {
    anchors.add(
      match[1]
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    );
  }
  return anchors;
}
