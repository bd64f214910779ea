"""The asyncio client: concurrent calls, an async stream, cancellation.

    SWITCHYARD_MOCK_URL=http://127.0.0.1:PORT python examples/python/async_quickstart.py
"""

from __future__ import annotations

import asyncio
import os

from switchyard import AsyncSwitchyard, SwitchyardError

from quickstart import config


async def main() -> None:
    base_url = os.environ.get("SWITCHYARD_MOCK_URL", "http://127.0.0.1:8080")
    async with AsyncSwitchyard(config=config(base_url)) as client:
        questions = ["one", "two", "three"]
        answers = await asyncio.gather(
            *(
                client.chat.completions.create(model="chat", messages=[{"role": "user", "content": q}])
                for q in questions
            )
        )
        for q, a in zip(questions, answers):
            print(q, "->", a.choices[0].message.content)

        stream = await client.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "Count."}], stream=True
        )
        async with stream:
            async for chunk in stream:
                if chunk.choices:
                    print(chunk.choices[0].delta.content or "", end="", flush=True)
        print()
        print("stream cost:", stream.switchyard.cost_usd)

        try:
            await asyncio.wait_for(
                client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}]),
                timeout=5,
            )
        except (asyncio.TimeoutError, SwitchyardError) as error:
            print("gave up:", error)


if __name__ == "__main__":
    asyncio.run(main())
