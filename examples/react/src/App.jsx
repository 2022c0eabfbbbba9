import { useState } from 'react';
import { AuthButton, useAuthenticator } from 'kloudless-authenticator/react';

const options = {
  client_id: import.meta.env.VITE_KLOUDLESS_CLIENT_ID || 'demo',
  scope: 'any',
};

const describe = (result) => (result.error
  ? `${result.error}: ${result.error_description}`
  : `${result.account.service} ${result.account.account}`);

export default function App() {
  const [events, setEvents] = useState([]);
  const [shown, setShown] = useState(true);
  const log = (kind, result) => setEvents((list) => [...list, { kind, text: result ? describe(result) : '' }]);
  const { launch, result, error, pending } = useAuthenticator(options);

  return (
    <main>
      <h1>Kloudless Authenticator with React</h1>

      <h2>AuthButton</h2>
      {shown && (
        <AuthButton
          id="auth-button"
          className="auth-button"
          title="Connect Account"
          options={options}
          onClick={() => log('click')}
          onSuccess={(r) => log('success', r)}
          onError={(r) => log('error', r)}
        />
      )}
      {' '}
      <button id="toggle" type="button" onClick={() => setShown(!shown)}>
        {shown ? 'Remove the button' : 'Show the button'}
      </button>
      <ul id="events">
        {events.map((event, i) => <li key={i} data-kind={event.kind}>{event.kind} {event.text}</li>)}
      </ul>

      <h2>useAuthenticator</h2>
      <button id="hook-button" type="button" onClick={launch}>Connect with the hook</button>
      <p id="hook-state" data-state={pending ? 'pending' : result ? 'success' : error ? 'error' : 'idle'}>
        {pending ? 'Waiting for the pop-up…' : result ? describe(result) : error ? describe(error) : 'Not connected'}
      </p>
    </main>
  );
}
