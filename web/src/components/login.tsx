// Shown when the daemon answers 401: the session cookie is missing or expired.
export function LoginHelp(props: { onRetry: () => void }) {
  const port = location.port || '7878';
  return (
    <main class="login">
      <div class="panel">
        <h1>Log in to lanspread</h1>
        <p>This page talks to the lanspread daemon on this machine, and the daemon answers only pages that have logged in.</p>
        <ul>
          <li>
            Run <code>lanspread open</code> in a terminal on this machine: it opens this page, logged in.
          </li>
          <li>
            Or open the link <code>lanspread serve</code> printed when it started:{' '}
            <code class="nowrap">
              http://{location.hostname}:{port}/login?token=…
            </code>
          </li>
        </ul>
        <p class="muted">This page keeps checking and continues by itself once you have logged in.</p>
        <button type="button" class="btn primary" onClick={props.onRetry}>
          Try again
        </button>
      </div>
    </main>
  );
}
