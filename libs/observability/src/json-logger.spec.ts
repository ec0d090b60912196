import { JsonLogger } from './json-logger';

describe('JsonLogger', () => {
  const capture = (level: 'debug' | 'info' = 'info', format: 'json' | 'pretty' = 'json') => {
    const lines: string[] = [];
    return { lines, logger: new JsonLogger({ service: 'data', level, format, write: (l) => lines.push(l) }) };
  };

  it('writes one JSON object a line with service, level and context', () => {
    const { lines, logger } = capture();
    logger.log('imported iris', 'DatasetsService');
    const entry = JSON.parse(lines[0]);
    expect(entry).toMatchObject({
      level: 'info',
      service: 'data',
      context: 'DatasetsService',
      msg: 'imported iris',
    });
    expect(Date.parse(entry.time)).not.toBeNaN();
  });

  it('drops messages under the threshold and keeps Nest start-up chatter at debug', () => {
    const { lines, logger } = capture('info');
    logger.debug('detail', 'X');
    logger.log('Mapped {/datasets, GET} route', 'RouterExplorer');
    logger.warn('careful', 'X');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['careful']);
    const verbose = capture('debug');
    verbose.logger.log('Mapped {/datasets, GET} route', 'RouterExplorer');
    expect(JSON.parse(verbose.lines[0]).level).toBe('debug');
  });

  it('prints a readable line in pretty mode, with the stack of an error', () => {
    const { lines, logger } = capture('info', 'pretty');
    logger.error('failed', 'Error: boom\n    at x', 'Job');
    expect(lines[0]).toMatch(/ERROR \[data:Job\] failed\nError: boom/);
  });
});
