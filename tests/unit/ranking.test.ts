/**
 * parseRanking: the forms real reviewers answer in (a clean FINAL RANKING
 * block, bare numbered lists, "C > A > B", markdown, prose around the block)
 * and the ways they go wrong (duplicates, unknown or missing labels, nothing
 * usable), each reported in `status` and `problems`, never silently dropped.
 */
import { describe, expect, test } from 'bun:test'
import { parseRanking } from '../../src/council/ranking'

const ABC = ['A', 'B', 'C'] as const

describe('parseRanking: well-formed answers', () => {
  test('a clean FINAL RANKING block is parsed in order with no problems', () => {
    const text = ['Response A is thorough.', '', 'FINAL RANKING:', '1. Response C', '2. Response A', '3. Response B'].join('\n')
    expect(parseRanking(text, ABC)).toEqual({ ranking: ['C', 'A', 'B'], status: 'parsed', problems: [] })
  })

  test('the header is case-insensitive and the colon optional', () => {
    const text = 'Final ranking\n1. Response B\n2. Response C\n3. Response A'
    const parsed = parseRanking(text, ABC)
    expect(parsed.ranking).toEqual(['B', 'C', 'A'])
    expect(parsed.status).toBe('parsed')
    expect(parsed.problems).toEqual([])
  })

  test('a numbered list of bare letters without a header ("1. C", "2) A") is parsed, and the missing header is reported', () => {
    const parsed = parseRanking('My order:\n1. C\n2) A\n3. B', ABC)
    expect(parsed.ranking).toEqual(['C', 'A', 'B'])
    expect(parsed.status).toBe('parsed')
    expect(parsed.problems).toContain('no FINAL RANKING block')
  })

  test('"Response C > Response A > Response B" is parsed', () => {
    const parsed = parseRanking('Response C > Response A > Response B', ABC)
    expect(parsed.ranking).toEqual(['C', 'A', 'B'])
    expect(parsed.status).toBe('parsed')
  })

  test('prose before and after the block does not disturb the ranking', () => {
    const text = [
      'Thanks for the interesting drafts. Overall I found them uneven.',
      '',
      'FINAL RANKING:',
      '1. Response B',
      '2. Response C',
      '3. Response A',
      '',
      'I hope this assessment is useful to the chair.',
    ].join('\n')
    expect(parseRanking(text, ABC)).toEqual({ ranking: ['B', 'C', 'A'], status: 'parsed', problems: [] })
  })

  test('bold markdown labels are parsed, both "**Response C**" and "**C**"', () => {
    const long = parseRanking('FINAL RANKING:\n1. **Response C**\n2. **Response A**\n3. **Response B**', ABC)
    expect(long.ranking).toEqual(['C', 'A', 'B'])
    expect(long.status).toBe('parsed')
    const short = parseRanking('FINAL RANKING:\n1. **C**\n2. **B**\n3. **A**', ABC)
    expect(short.ranking).toEqual(['C', 'B', 'A'])
    expect(short.status).toBe('parsed')
  })

  test('lower-case "response b" is recognised and returned upper-case', () => {
    const parsed = parseRanking('final ranking:\n1. response b\n2. response c\n3. response a', ABC)
    expect(parsed.ranking).toEqual(['B', 'C', 'A'])
    expect(parsed.status).toBe('parsed')
  })

  test('labels named in the critique before the block do not pollute the ranking', () => {
    const text = [
      'Response B is the strongest on evidence, Response C on clarity; Response A is thin.',
      'Compared with Response A, Response B names its assumptions.',
      '',
      'FINAL RANKING:',
      '1. Response A',
      '2. Response C',
      '3. Response B',
    ].join('\n')
    const parsed = parseRanking(text, ABC)
    expect(parsed.ranking).toEqual(['A', 'C', 'B'])
    expect(parsed.status).toBe('parsed')
    // No "duplicate" complaints: the critique's mentions were never considered.
    expect(parsed.problems).toEqual([])
  })

  test('with two FINAL RANKING headers, the last block wins', () => {
    const text = 'FINAL RANKING: (draft)\n1. Response A\n2. Response B\n\nOn reflection:\nFINAL RANKING:\n1. Response B\n2. Response A'
    expect(parseRanking(text, ['A', 'B']).ranking).toEqual(['B', 'A'])
  })
})

describe('parseRanking: what goes wrong is reported', () => {
  test('a duplicate label keeps its first position, is reported, and the label it displaced is missing → partial', () => {
    const parsed = parseRanking('FINAL RANKING:\n1. Response A\n2. Response A\n3. Response B', ABC)
    expect(parsed.ranking).toEqual(['A', 'B'])
    expect(parsed.status).toBe('partial')
    expect(parsed.problems).toContain('duplicate label A')
    expect(parsed.problems.some((problem) => problem.startsWith('missing') && problem.includes('C'))).toBe(true)
  })

  test('a repeated label with every label present is still parsed, but the repeat is reported', () => {
    const parsed = parseRanking('FINAL RANKING:\n1. Response B\n2. Response A\n3. Response C\n4. Response B', ABC)
    expect(parsed.ranking).toEqual(['B', 'A', 'C'])
    expect(parsed.status).toBe('parsed')
    expect(parsed.problems).toEqual(['duplicate label B'])
  })

  test('unknown labels are ignored and reported', () => {
    const parsed = parseRanking('FINAL RANKING:\n1. Response D\n2. Response B\n3. Response A', ['A', 'B'])
    expect(parsed.ranking).toEqual(['B', 'A'])
    expect(parsed.status).toBe('parsed')
    expect(parsed.problems).toEqual(['unknown label D'])
  })

  test('missing labels give status partial and name what is missing', () => {
    const parsed = parseRanking('FINAL RANKING:\n1. Response C', ABC)
    expect(parsed.ranking).toEqual(['C'])
    expect(parsed.status).toBe('partial')
    expect(parsed.problems).toEqual(['missing A, B'])
  })

  test('nothing usable gives status unparsed and an empty ranking', () => {
    const prose = parseRanking('I could not decide between these; they are all fine.', ABC)
    expect(prose.ranking).toEqual([])
    expect(prose.status).toBe('unparsed')
    expect(prose.problems.length).toBeGreaterThan(0)

    const emptyBlock = parseRanking('FINAL RANKING:\n(none)', ABC)
    expect(emptyBlock.ranking).toEqual([])
    expect(emptyBlock.status).toBe('unparsed')

    const onlyUnknown = parseRanking('FINAL RANKING:\n1. Response X\n2. Response Y', ABC)
    expect(onlyUnknown.status).toBe('unparsed')
    expect(onlyUnknown.problems).toEqual(['unknown label X', 'unknown label Y'])
  })

  test('an empty answer is unparsed', () => {
    expect(parseRanking('', ABC).status).toBe('unparsed')
  })
})

describe('parseRanking: one label per line of the block', () => {
  // Real models justify their order on the ranking lines ("1. Response B — beats
  // Response C on evidence"). The line's leading label is its rank; a label only
  // mentioned in passing must not take the next position.
  test('a label mentioned inside a ranking line does not take a position', () => {
    const text = 'FINAL RANKING:\n1. Response B (beats Response C on evidence)\n2. Response A\n3. Response C'
    const parsed = parseRanking(text, ABC)
    expect(parsed.ranking).toEqual(['B', 'A', 'C'])
    expect(parsed.status).toBe('parsed')
  })
})
