// A typed consumer of every entry of the package: `tsc --noEmit` must pass, and each
// `@ts-expect-error` line must really be an error (so the types are not just `any`).
import auth, { authenticator, stop, type ErrorCode, type Result, type Options } from 'kloudless-authenticator';
import reactDefault, { AuthButton, createAuthButton, useAuthenticator } from 'kloudless-authenticator/react';
import VueAuthButton, {
  AuthButton as VueAuthButtonNamed,
  createAuthButton as createVueAuthButton,
  useAuthenticator as useVueAuthenticator,
} from 'kloudless-authenticator/vue';
import 'kloudless-authenticator/script';
import { defineComponent, h, ref } from 'vue';

const options: Options = { client_id: 'app', scope: ['box', 'gdrive'], raw: { a: 1 }, extra_data: { domain: 'x' } };
const legacy: Options = { app_id: 'v0-app' };
// @ts-expect-error: the app's id is required
const missing: Options = { scope: 'any' };

function handle(result: Result): string {
  if (result.error) {
    // @ts-expect-error: an error result never carries a token
    const token: string = result.access_token;
    return `${result.error} ${result.error_description ?? ''} ${token}`;
  }
  return `${result.access_token} ${result.account.service} ${result.account.id}`;
}

const code: ErrorCode = 'popup_closed';
// @ts-expect-error: not one of the library's codes
const wrong: ErrorCode = 'popup_went_away';

auth.setGlobalOptions({ baseUrl: 'https://api.example' });
const { baseUrl, debug }: { baseUrl: string; debug: boolean } = auth.getGlobalOptions();
const byElement = authenticator(document.createElement('button'), options, handle);
const manual = auth.authenticator(options, handle);
manual.launch();
manual.destroy();
byElement.launch();
stop(document.body);
// @ts-expect-error: the callback is required
authenticator(options);
const version: 'v1' = auth.apiVersion;
const global = window.Kloudless.auth.authenticator(legacy, handle);

// React: the original's props, plus the hook.
export function ReactApp() {
  const { launch, result, error, pending } = useAuthenticator(options);
  const Custom = createAuthButton((props: { label: string; onClick?: () => void }) =>
    <a onClick={props.onClick}>{props.label}</a>);
  return (
    <div>
      <AuthButton options={options} title="Connect" className="btn" disabled={pending} id="b"
        onSuccess={(r) => console.log(r.account.service)} onError={(e) => console.log(e.error)} onClick={() => {}} />
      <reactDefault.AuthButton options={options} onSuccess={() => {}} />
      <Custom label="Go" options={options} onSuccess={() => {}} />
      {/* @ts-expect-error: onSuccess is required */}
      <AuthButton options={options} />
      <button onClick={launch}>{result?.account.service ?? error?.error ?? 'none'}</button>
    </div>
  );
}

// Vue: the component, its factory and the composable.
export const VueApp = defineComponent({
  setup() {
    const { launch, result, error, pending } = useVueAuthenticator(() => options);
    const Custom = createVueAuthButton(defineComponent({ props: { label: String } }));
    const clicks = ref(0);
    return () => [
      h(VueAuthButton, { options, onSuccess: (r) => console.log(r.account.service), onError: (e) => console.log(e.error) }),
      h(VueAuthButtonNamed, { options, onClick: () => clicks.value++ }),
      h(Custom, { options }),
      h('p', pending.value ? 'pending' : result.value?.account.service ?? error.value?.error),
      h('button', { onClick: launch }),
    ];
  },
});

export const used = [missing, code, wrong, baseUrl, debug, version, global];
