/**
 * The number in `text[start, end)` when it is written plainly (an optional sign, digits, an optional fraction), read
 * from its characters without cutting a substring; NaN otherwise (the caller falls back to Number()). For a plain
 * decimal of at most 15 significant digits the result is the same double as Number() gives.
 */
export function plainNumber(text: string, start: number, end: number): number {
  let i = start;
  let negative = false;
  const first = text.charCodeAt(i);
  if (first === 45 || first === 43) {
    negative = first === 45;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let dot = false;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (dot) scale++;
    } else if (c === 46 && !dot) dot = true;
    else return NaN;
  }
  if (digits === 0 || digits > 15) return NaN;
  const value = scale === 0 ? mantissa : mantissa / POWERS[scale];
  return negative ? -value : value;
}

const POWERS = Array.from({ length: 16 }, (_, i) => 10 ** i);
