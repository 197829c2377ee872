"""The Redis spend ledger: each charge is one Lua script (check and increment are atomic).

Keys of one campaign share a hash tag (``<prefix>{ad:<id>}:...``) so they live in one cluster slot.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import redis

from recommendations.ads.catalog import CampaignSnapshot
from recommendations.ads.ledger import Charge, Counters, Ledger, Spend, impression_terms, local_day
from recommendations.conf import app_settings

DAY_TTL = 3 * 86400
CAP_TTL = 2 * 86400

# KEYS: total spend, today's spend, visitor's count today, counters hash[, a second count today]
# ARGV: cost, reserve, total budget, daily budget, paced allowance, cap, day ttl, cap ttl
IMPRESSION_LUA = """
local total = tonumber(redis.call('GET', KEYS[1]) or '0')
local today = tonumber(redis.call('GET', KEYS[2]) or '0')
local cost, reserve = tonumber(ARGV[1]), tonumber(ARGV[2])
if total + reserve > tonumber(ARGV[3]) then return {0, 'budget'} end
if today + reserve > tonumber(ARGV[4]) then return {0, 'daily'} end
if today + reserve > tonumber(ARGV[5]) then return {0, 'pacing'} end
local cap = tonumber(ARGV[6])
if cap > 0 and tonumber(redis.call('GET', KEYS[3]) or '0') >= cap then return {0, 'cap'} end
if cost > 0 then
  redis.call('INCRBY', KEYS[1], cost)
  redis.call('INCRBY', KEYS[2], cost)
  redis.call('EXPIRE', KEYS[2], ARGV[7])
end
if cap > 0 then
  for i = 3, #KEYS, 2 do
    redis.call('INCR', KEYS[i])
    redis.call('EXPIRE', KEYS[i], ARGV[8])
  end
end
redis.call('HINCRBY', KEYS[4], 'impressions', 1)
return {1, ''}
"""

# KEYS: total spend, today's spend, click marker, counters hash
# ARGV: cost, total budget, daily budget, day ttl, marker ttl
CLICK_LUA = """
if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[5]) then return {0, 'duplicate', 0} end
redis.call('HINCRBY', KEYS[4], 'clicks', 1)
local cost = tonumber(ARGV[1])
if cost <= 0 then return {1, '', 0} end
local total = tonumber(redis.call('GET', KEYS[1]) or '0')
local today = tonumber(redis.call('GET', KEYS[2]) or '0')
if total + cost > tonumber(ARGV[2]) or today + cost > tonumber(ARGV[3]) then return {1, 'unbilled', 0} end
redis.call('INCRBY', KEYS[1], cost)
redis.call('INCRBY', KEYS[2], cost)
redis.call('EXPIRE', KEYS[2], ARGV[4])
return {1, '', cost}
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisLedger(Ledger):
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._impression = client.register_script(IMPRESSION_LUA)
        self._click = client.register_script(CLICK_LUA)

    def _key(self, campaign_id: int, *parts: object) -> str:
        return ":".join([f"{self.prefix}{{ad:{campaign_id}}}", *map(str, parts)])

    def charge_impression(
        self, campaign: CampaignSnapshot, subject: str | None, now: datetime, *, also: str | None = None
    ) -> Charge:
        terms = impression_terms(campaign, now)
        cap = campaign.frequency_cap if subject else 0
        keys = [
            self._key(campaign.id, "spend"),
            self._key(campaign.id, "spend", terms.day.isoformat()),
            self._key(campaign.id, "seen", terms.day.isoformat(), subject or "-"),
            self._key(campaign.id, "n"),
        ]
        if also and cap:
            keys.append(self._key(campaign.id, "seen", terms.day.isoformat(), also))
        args = [
            terms.cost,
            terms.reserve,
            campaign.total_budget_micros,
            campaign.daily_budget_micros,
            terms.allowance,
            cap,
            DAY_TTL,
            CAP_TTL,
        ]
        ok, reason = self._impression(keys=keys, args=args)
        return Charge(bool(ok), _text(reason), terms.cost if ok else 0)

    def charge_click(self, campaign: CampaignSnapshot, impression_id: str, now: datetime) -> Charge:
        day = local_day(now).isoformat()
        keys = [
            self._key(campaign.id, "spend"),
            self._key(campaign.id, "spend", day),
            self._key(campaign.id, "click", impression_id),
            self._key(campaign.id, "n"),
        ]
        cost = 0 if campaign.is_cpm else campaign.bid_micros
        args = [
            cost,
            campaign.total_budget_micros,
            campaign.daily_budget_micros,
            DAY_TTL,
            int(app_settings.ADS_CLICK_MAX_AGE_SECONDS) + 86400,
        ]
        ok, reason, charged = self._click(keys=keys, args=args)
        return Charge(bool(ok), _text(reason), int(charged))

    def forget(self, subjects: list[str], campaign_ids: list[int], now: datetime) -> int:
        """Delete the subjects' frequency-cap counts (keys removed). A count lives ``CAP_TTL``
        after its local day's last impression, so the days from ``CAP_TTL`` back to tomorrow
        (a time zone change) hold every count that can still exist: exact keys, no SCAN."""
        today = local_day(now)
        back = CAP_TTL // 86400 + 1
        days = [(today + timedelta(days=offset)).isoformat() for offset in range(-back, 2)]
        removed = 0
        for cid in campaign_ids:  # one DEL per campaign: its keys share a cluster slot
            keys = [self._key(cid, "seen", day, subject) for day in days for subject in subjects]
            for start in range(0, len(keys), 1000):
                removed += int(self.client.delete(*keys[start : start + 1000]))
        return removed

    def counters(self, campaign_ids: list[int]) -> dict[int, Counters]:
        pipe = self.client.pipeline(transaction=False)
        for cid in campaign_ids:
            pipe.hmget(self._key(cid, "n"), "impressions", "clicks")
        return {
            cid: Counters(int(imp or 0), int(clk or 0))
            for cid, (imp, clk) in zip(campaign_ids, pipe.execute(), strict=True)
        }

    def spend(self, campaign_id: int, now: datetime) -> Spend:
        total, today = self.client.mget(
            self._key(campaign_id, "spend"), self._key(campaign_id, "spend", local_day(now).isoformat())
        )
        return Spend(int(total or 0), int(today or 0))
