/**
 * Length in Unicode code points, as the password policy and the name rule count (not UTF-16 code
 * units): an emoji of one code point counts once, one of several code points counts as several.
 */
export function codePointCount(text: string): number {
  return Array.from(text).length;
}
