/** Where a silence stands at `now`. */
export function silenceState(startsAt: Date, endsAt: Date, now: Date): 'pending' | 'active' | 'expired' {
  if (endsAt.getTime() <= now.getTime()) return 'expired';
  return startsAt.getTime() > now.getTime() ? 'pending' : 'active';
}
