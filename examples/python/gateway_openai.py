"""The official `openai` package, unchanged, through the Switchyard gateway: only the base
URL and the key differ from calling OpenAI (an app key of the management server).

    OPENAI_BASE_URL=http://127.0.0.1:8787/v1 OPENAI_API_KEY=sy_... python gateway_openai.py
"""

from openai import OpenAI

client = OpenAI()  # reads OPENAI_BASE_URL and OPENAI_API_KEY
raw = client.chat.completions.with_raw_response.create(
    model="chat",
    messages=[{"role": "user", "content": "Say hello in five words."}],
)
completion = raw.parse()
print(completion.choices[0].message.content)
print(
    f"  deployment {raw.headers.get('x-switchyard-deployment')}, "
    f"cache {raw.headers.get('x-switchyard-cache')}, "
    f"cost ${raw.headers.get('x-switchyard-cost-usd')}, request {raw.request_id}"
)
