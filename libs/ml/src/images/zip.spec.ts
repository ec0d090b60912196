import { readZipEntries, writeZip, ZipFormatError } from './zip';

/** Made by Python's zipfile (deflated): cats/a.txt ('meow ' × 40), the directory cats/, dogs/b.txt ('woof'). */
const PYTHON_ZIP =
  'UEsDBBQAAAAIAEB9h111/ee6CgAAAMgAAAAKAAAAY2F0cy9hLnR4dMtNzS9XyB36BABQSwMEFAAAAAgAQH2HXQAAAAACAAAAAAAAAAUAAABjYXRzLwMAUEsDBBQAAAAIAEB9h10heJPSBgAAAAQAAAAKAAAAZG9ncy9iLnR4dCvPz08DAFBLAQIUAxQAAAAIAEB9h111/ee6CgAAAMgAAAAKAAAAAAAAAAAAAACAAQAAAABjYXRzL2EudHh0UEsBAhQDFAAAAAgAQH2HXQAAAAACAAAAAAAAAAUAAAAAAAAAAAAQAP1BMgAAAGNhdHMvUEsBAhQDFAAAAAgAQH2HXSF4k9IGAAAABAAAAAoAAAAAAAAAAAAAAIABVwAAAGRvZ3MvYi50eHRQSwUGAAAAAAMAAwCjAAAAhQAAAAAA';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('zip archives', () => {
  it('reads deflated entries and directories written by another tool', () => {
    const entries = readZipEntries(Buffer.from(PYTHON_ZIP, 'base64'));
    expect(entries.map((e) => [e.name, e.isDirectory, e.size])).toEqual([
      ['cats/a.txt', false, 200],
      ['cats/', true, 0],
      ['dogs/b.txt', false, 4],
    ]);
    expect(text(entries[0].read())).toBe('meow '.repeat(40));
    expect(text(entries[2].read())).toBe('woof');
  });

  it('reads back what it writes, names in UTF-8', () => {
    const files = [
      { name: 'chats/été.png', data: new Uint8Array([1, 2, 3]) },
      { name: 'empty', data: new Uint8Array(0) },
    ];
    const entries = readZipEntries(writeZip(files));
    expect(entries.map((e) => e.name)).toEqual(['chats/été.png', 'empty']);
    expect([...entries[0].read()]).toEqual([1, 2, 3]);
    expect(entries[1].read()).toHaveLength(0);
  });

  it('writes and reads the zip64 count of more than 65,534 entries', () => {
    const files = Array.from({ length: 65_600 }, (_, i) => ({
      name: `f${i}`,
      data: new Uint8Array([i % 256]),
    }));
    const entries = readZipEntries(writeZip(files));
    expect(entries).toHaveLength(65_600);
    expect([...entries[65_599].read()]).toEqual([65_599 % 256]);
  });

  it('refuses what is not a zip, and names a damaged entry when it is read', () => {
    expect(() => readZipEntries(new TextEncoder().encode('hello, not a zip at all'))).toThrow(
      'not a zip archive',
    );
    const zip = writeZip([{ name: 'a.png', data: new Uint8Array([9, 9, 9, 9]) }]);
    zip[30 + 'a.png'.length] ^= 0xff;
    const [entry] = readZipEntries(zip);
    expect(() => entry.read()).toThrow(ZipFormatError);
    expect(() => entry.read()).toThrow('CRC-32');
  });

  it('never inflates an entry past the size its header declares', () => {
    const zip = Buffer.from(PYTHON_ZIP, 'base64');
    // Central directory of cats/a.txt: claim 10 bytes uncompressed instead of 200.
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt32LE(10, central + 24);
    const [entry] = readZipEntries(zip);
    expect(() => entry.read()).toThrow(/cannot inflate|holds/);
  });
});
