// [pattern, path, excluded]: shared by the product's test and the example experiment's (which must agree).
export const EXCLUDE_CASES: [string, string, boolean][] = [
  ['/images/bad.pgm', '/images/bad.pgm', true],
  ['images/bad.pgm', '/images/bad.pgm', true],
  ['/images/bad.pgm', '/images/bad.pgm.bak', false],
  ['/images', '/images/circle/1.pgm', true],
  ['/images/', '/images/circle/1.pgm', true],
  ['/images', '/images-2/1.pgm', false],
  ['/images/*.pgm', '/images/1.pgm', true],
  ['/images/*.pgm', '/images/sub/1.pgm', false],
  ['/images/**/*.pgm', '/images/sub/deep/1.pgm', true],
  ['/**/empty.pgm', '/a/b/empty.pgm', true],
  ['/img?.pgm', '/img1.pgm', true],
  ['/img?.pgm', '/img/.pgm', false],
  ['/a.b', '/axb', false],
  ['/with space/[x]+(y).pgm', '/with space/[x]+(y).pgm', true],
  ['/ümlaut/%41#?.pgm', '/ümlaut/%41#1.pgm', true],
];
