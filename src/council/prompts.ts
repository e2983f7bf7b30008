/** The prompts of each stage. Reviewers see drafts only as "Response A, B, …". */
import type { ChatMessage } from '../llm/types'
import type { LeaderboardEntry } from './aggregate'

export interface AgentProfile {
  name: string
  persona: string
}

const system = (agent: AgentProfile): ChatMessage => ({ role: 'system', content: `${agent.persona}\n\nAgent: ${agent.name}` })

export function draftPrompt(agent: AgentProfile, question: string, documents: string[] = []): ChatMessage[] {
  const context = documents.length > 0 ? `\n\nDocuments (excerpts):\n${documents.join('\n---\n')}` : ''
  return [
    system(agent),
    { role: 'user', content: `Question: ${question}${context}\n\nAnswer the question in your own voice. Be concrete.` },
  ]
}

/** A direct call of one agent through the agent proxy: its persona and the caller's input, nothing else. */
export function agentPrompt(agent: AgentProfile, input: string): ChatMessage[] {
  return [system(agent), { role: 'user', content: `Question: ${input}` }]
}

export function reviewPrompt(agent: AgentProfile, question: string, responses: Array<{ label: string; content: string }>): ChatMessage[] {
  const body = responses.map(({ label, content }) => `Response ${label}:\n${content}\n`).join('\n')
  return [
    system(agent),
    {
      role: 'user',
      content: [
        `Question: ${question}`,
        '',
        'Here are anonymised responses from other council members:',
        '',
        body,
        '---',
        'Critique each response briefly: its strengths, its weaknesses, what it misses.',
        'Then end with your ranking, best first, in exactly this form and nothing after it:',
        'FINAL RANKING:',
        ...responses.map((_, i) => `${i + 1}. Response <letter>`),
      ].join('\n'),
    },
  ]
}

export function synthesisPrompt(
  chair: AgentProfile,
  question: string,
  drafts: Array<{ agent: string; content: string }>,
  reviews: Array<{ reviewer: string; content: string }>,
  leaderboard: LeaderboardEntry[],
  documents: string[] = [],
): ChatMessage[] {
  const context = documents.length > 0 ? `\n\nDocuments (excerpts):\n${documents.join('\n---\n')}` : ''
  return [
    system(chair),
    {
      role: 'user',
      content: [
        `Question: ${question}${context}`,
        '',
        'Drafts:',
        ...drafts.map((draft) => `## ${draft.agent}\n${draft.content}\n`),
        'Reviews:',
        ...reviews.map((review) => `## ${review.reviewer}\n${review.content}\n`),
        'Leaderboard (mean rank, lower is better):',
        ...leaderboard.map((entry) => `${entry.position}. ${entry.agent} (mean ${entry.mean_rank ?? 'n/a'}, borda ${entry.borda})`),
        '',
        'As chair, write the council’s final answer: the recommendation, the reasoning, and where members disagreed. Use markdown.',
      ].join('\n'),
    },
  ]
}
