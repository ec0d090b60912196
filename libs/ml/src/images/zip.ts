import { crc32, inflateRawSync } from 'node:zlib';

/*
 * Zip archives (PKWARE APPNOTE 6.3), read from memory through the central directory: stored and deflated entries,
 * zip64 sizes and counts, UTF-8 names. Nothing is written to disk, so a name is only ever a label. An entry's
 * content is inflated at most to its declared size (a zip bomb cannot claim less than it holds) and checked
 * against its CRC-32.
 */

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

export interface ZipEntry {
  /** The path inside the archive, with '/' separators. */
  name: string;
  /** Uncompressed size as the archive declares it (checked when the entry is read). */
  size: number;
  isDirectory: boolean;
  /** The entry's content; throws naming the entry if it cannot be read. */
  read(): Uint8Array;
}

export class ZipFormatError extends Error {}

/** Lists a zip archive's entries (directories included), in central-directory order; throws ZipFormatError. */
export function readZipEntries(zip: Uint8Array): ZipEntry[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - MAX_COMMENT); at--) {
    if (u32(at) === EOCD) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new ZipFormatError('not a zip archive (no end of central directory record)');
  let count = u16(end + 10);
  let directoryOffset = u32(end + 16);
  if ((count === 0xffff || directoryOffset === 0xffffffff) && end >= 20 && u32(end - 20) === ZIP64_LOCATOR) {
    const record = u64(end - 20 + 8);
    if (record + 56 > zip.length || u32(record) !== ZIP64_EOCD) {
      throw new ZipFormatError('the zip64 end of central directory record is missing');
    }
    count = u64(record + 32);
    directoryOffset = u64(record + 48);
  }
  const entries: ZipEntry[] = [];
  let at = directoryOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || u32(at) !== CENTRAL) {
      throw new ZipFormatError(`the central directory is damaged at entry ${i + 1} of ${count}`);
    }
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc = u32(at + 16);
    let compressed = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let local = u32(at + 42);
    const name = new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLength)).replace(/\\/g, '/');
    // Zip64: the sizes and offset that overflowed 32 bits are in extra field 0x0001, in this order.
    for (let x = at + 46 + nameLength; x + 4 <= at + 46 + nameLength + extraLength;) {
      const id = u16(x);
      const length = u16(x + 2);
      if (id === 0x0001) {
        let field = x + 4;
        if (size === 0xffffffff) {
          size = u64(field);
          field += 8;
        }
        if (compressed === 0xffffffff) {
          compressed = u64(field);
          field += 8;
        }
        if (local === 0xffffffff) local = u64(field);
      }
      x += 4 + length;
    }
    at += 46 + nameLength + extraLength + commentLength;
    const read = () => readEntry(zip, view, { name, flags, method, crc, compressed, size, local });
    entries.push({ name, size, isDirectory: name.endsWith('/'), read });
  }
  return entries;
}

function readEntry(
  zip: Uint8Array,
  view: DataView,
  e: {
    name: string;
    flags: number;
    method: number;
    crc: number;
    compressed: number;
    size: number;
    local: number;
  },
): Uint8Array {
  if (e.flags & 1) throw new ZipFormatError('the entry is encrypted');
  if (e.local + 30 > zip.length || view.getUint32(e.local, true) !== LOCAL) {
    throw new ZipFormatError('its local header is missing');
  }
  const start = e.local + 30 + view.getUint16(e.local + 26, true) + view.getUint16(e.local + 28, true);
  if (start + e.compressed > zip.length) throw new ZipFormatError('its data is cut short');
  const raw = zip.subarray(start, start + e.compressed);
  let data: Uint8Array;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
    } catch (error) {
      throw new ZipFormatError(`cannot inflate it (${(error as Error).message})`);
    }
  } else
    throw new ZipFormatError(`compression method ${e.method} is not supported (only stored and deflate)`);
  if (data.length !== e.size) {
    throw new ZipFormatError(`it holds ${data.length} bytes, its header says ${e.size}`);
  }
  if (crc32(data) >>> 0 !== e.crc >>> 0) throw new ZipFormatError('its CRC-32 does not match (corrupt)');
  return data;
}

/**
 * Writes a zip archive of the given files, stored (not compressed: PNG and JPEG already are), with the zip64 end
 * records when there are more than 65,534 entries; an archive of 4 GiB or more is refused.
 */
export function writeZip(files: readonly { name: string; data: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const file of files) {
    const name = new TextEncoder().encode(file.name);
    const crc = crc32(file.data) >>> 0;
    if (offset + 30 + name.length + file.data.length >= 0xffffffff) {
      throw new Error('a zip archive of 4 GiB or more is not supported');
    }
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, LOCAL, true);
    local.setUint16(4, 20, true);
    local.setUint16(6, 0x0800, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, file.data.length, true);
    local.setUint32(22, file.data.length, true);
    local.setUint16(26, name.length, true);
    const header = new DataView(new ArrayBuffer(46));
    header.setUint32(0, CENTRAL, true);
    header.setUint16(4, 45, true);
    header.setUint16(6, 20, true);
    header.setUint16(8, 0x0800, true);
    header.setUint32(16, crc, true);
    header.setUint32(20, file.data.length, true);
    header.setUint32(24, file.data.length, true);
    header.setUint16(28, name.length, true);
    header.setUint32(42, offset, true);
    parts.push(new Uint8Array(local.buffer), name, file.data);
    central.push(new Uint8Array(header.buffer), name);
    offset += 30 + name.length + file.data.length;
  }
  const directorySize = central.reduce((n, p) => n + p.length, 0);
  if (offset + directorySize >= 0xffffffff)
    throw new Error('a zip archive of 4 GiB or more is not supported');
  const zip64 = files.length > 0xfffe;
  const tail: Uint8Array[] = [];
  if (zip64) {
    const record = new DataView(new ArrayBuffer(56 + 20));
    record.setUint32(0, ZIP64_EOCD, true);
    record.setBigUint64(4, 44n, true);
    record.setUint16(12, 45, true);
    record.setUint16(14, 45, true);
    record.setBigUint64(24, BigInt(files.length), true);
    record.setBigUint64(32, BigInt(files.length), true);
    record.setBigUint64(40, BigInt(directorySize), true);
    record.setBigUint64(48, BigInt(offset), true);
    record.setUint32(56, ZIP64_LOCATOR, true);
    record.setBigUint64(56 + 8, BigInt(offset + directorySize), true);
    record.setUint32(56 + 16, 1, true);
    tail.push(new Uint8Array(record.buffer));
  }
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, EOCD, true);
  end.setUint16(8, zip64 ? 0xffff : files.length, true);
  end.setUint16(10, zip64 ? 0xffff : files.length, true);
  end.setUint32(12, directorySize, true);
  end.setUint32(16, offset, true);
  tail.push(new Uint8Array(end.buffer));
  return concat([...parts, ...central, ...tail]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
