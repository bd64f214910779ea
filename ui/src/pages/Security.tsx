// Security events: failed sign-ins and rejected keys, newest first.

import type { Api, List, SecurityEvent } from '../api';
import { Head } from '../controls';
import { formatTime } from '../format';
import { Show, useLoad } from '../load';

export function SecurityPage({ api }: { api: Api }) {
  const events = useLoad(() => api.get<List<SecurityEvent>>('/security-events?limit=200'), [api]);
  return (
    <Show loaded={events} what="security_event.read">
      {(list) =>
        list.items.length === 0 ? (
          <p>No security events.</p>
        ) : (
          <table>
            <caption>Security events, newest first</caption>
            <Head columns={['At', 'Kind', 'Subject', 'Source']} />
            <tbody>
              {list.items.map((e) => (
                <tr key={e.id}>
                  <td>{formatTime(e.at)}</td>
                  <td>{e.kind}</td>
                  <td><code>{e.subject}</code></td>
                  <td>{e.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Show>
  );
}
