"""A refused setting over the real WebSocket: the field named, the reason in plain words."""

from __future__ import annotations

from tests.worker.api.conftest import connect_ready
from worker.bootstrap import Worker


async def test_each_refused_setting_names_its_field_and_says_why_in_the_rules_words(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    before = worker.settings.current
    cases = [
        ('{"action": "update_settings", "settings": {"min_bet": 20}}', "min_bet", "Min bet must not exceed max bet"),
        ('{"action": "update_settings", "settings": {"max_bet": 1}}', "max_bet", "Max bet must not be less than min bet"),
        ('{"action": "update_settings", "settings": {"min_bet": -5}}', "min_bet", "Min bet must not be negative"),
        ('{"action": "update_settings", "settings": {"min_roi": 5.123}}', "min_roi",
         "Min ROI allows at most 2 decimal places"),
        ('{"action": "update_settings", "settings": {"max_daily_trades": 0}}', "max_daily_trades",
         "Max daily trades must be a whole number from 1 to 100,000"),
        ('{"action": "update_settings", "settings": {"max_daily_loss": 1e999}}', "max_daily_loss",
         "Max daily loss: "),
    ]
    for raw, field, words in cases:
        await client.send(raw)
        err = await client.reply()
        assert (err["type"], err["field"]) == ("error", field), (raw, err)
        assert err["message"].startswith(words), (raw, err)
        assert field not in err["message"]  # the operator's words, not the wire name
    assert worker.settings.current == before
    await client.close()
