/**
 * Splits a command line into argv the way a shell would split words, and nothing more:
 * quotes ('...' literal, "..." with \" and \\) and backslash escapes. No variables, globs
 * or operators: the result goes to execve as an array, never through a shell.
 */
export function splitCommandLine(line: string): { argv: string[] } | { error: string } {
  const argv: string[] = [];
  let word = '';
  let inWord = false; // "" is a word, nothing between two spaces is not
  let quote: "'" | '"' | null = null;
  for (let index = 0; index < line.length; index++) {
    const char = line.charAt(index);
    const next = line.charAt(index + 1);
    if (quote === "'") {
      if (char === "'") quote = null;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = null;
      else if (char === '\\' && (next === '"' || next === '\\')) {
        word += next;
        index++;
      } else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\' && index + 1 < line.length) {
      word += next;
      inWord = true;
      index++;
    } else if (/\s/.test(char)) {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote !== null)
    return { error: `command: unclosed ${quote === "'" ? 'single' : 'double'} quote` };
  if (inWord) argv.push(word);
  return { argv };
}
