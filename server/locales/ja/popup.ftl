# ポップアップのページ(日本語)。キーは en/popup.ftl と同じ。

## サービスの選択

chooser-title = アカウントを接続
chooser-heading = { $app } があなたのアカウントへの接続を求めています
chooser-intro = アカウントのあるサービスを選んでください。
chooser-cancel = キャンセル
chooser-search-label = サービスを検索
chooser-search-button = 検索
chooser-count = { $shown } 件のサービス
chooser-count-matching = { $total } 件中 { $shown } 件のサービスが「{ $search }」に一致
chooser-count-typed = { $total } 件中 { $shown } 件のサービス
chooser-empty = 検索に一致するサービスはありません。別の名前を試すか、検索欄を空にしてください。

## グループ

category-suggested = おすすめ
category-storage = クラウドストレージ
category-crm = CRM
category-calendar = カレンダー
category-code = コードホスティング
category-chat = チャット
category-itsm = IT サービス管理
category-email = メール
category-accounting = 会計
category-marketing = マーケティング
category-database = データベース
category-helpdesk = ヘルプデスク
category-meeting = 会議
category-project = プロジェクト管理
category-documents = ドキュメント
category-design = デザイン

## 全ページ共通

footer-help = { $app } のヘルプ
close-button = このウィンドウを閉じる
close-noscript = このウィンドウを閉じてかまいません。
details-summary = アプリの開発者向けの詳細

## フォーム

form-heading = { $service } アカウントを接続
form-connect = 接続
connect-asks = { $app } があなたの { $service } アカウントの利用を求めています。
connect-asks-admin = { $app } があなたの { $service } アカウントを管理者権限で利用することを求めています。
connect-demo-note = (これは組み込みのデモ用プロバイダーです。どのアカウント名でも使えます。)
connect-account = アカウント名
credentials-asks = { $app } があなたの { $service } アカウントの利用を求めています。入力した内容は確認のため { $service } に送られ、このサーバーに暗号化して保存されます。
credentials-asks-traded = { $app } があなたの { $service } アカウントの利用を求めています。入力した内容は { $service } に一度だけ送られ、このサーバーに暗号化して保存されるトークンと引き換えられます。パスワードは保存されません。
credentials-where-basic = サインイン情報の確認方法({ $service } のヘルプが開きます)
credentials-where-key = API キーの確認方法({ $service } のヘルプが開きます)
credentials-username = ユーザー名
credentials-password = パスワード
credentials-region = リージョン
credentials-api-key = API キー
credentials-reveal = 表示
hostname-asks = { $app } があなたの { $service } アカウントの利用を求めています。アカウントはどのサーバーにありますか?
hostname-label = サーバー
hostname-hint = 会社の { $service } サーバーのアドレス。例: { $example }
hostname-continue = 続ける

## フォームのエラー

form-error-hostname = 「{ $host }」は { $pattern } の形式のサーバー名ではありません。
form-error-fill = すべての欄を { $max } 文字以内で入力してください。
form-error-misconfigured = このサービスは正しく設定されていません。
form-error-refused = { $service } はこの認証情報を拒否しました。
form-error-account = 「{ $account }」はストレージ アカウント名ではありません（小文字の英字と数字で 3～24 文字）。
form-error-account-key = アカウント キーが無効です。ポータルに表示されたとおり（Base64）に貼り付けてください。
form-error-server-path = 「{ $server }」はサーバーのアドレスではありません。サーバー名と、サービスがパスの下にある場合はそのパスを入力してください（例: { $example }/remote.php/webdav。ユーザー名、クエリ、フラグメントは不可。https のみ）。

## サービスのサインインページへの移動

handoff-heading = { $service } でサインインしています…
handoff-continue = { $service } へ進む

## 結果ページ

result-connected = アカウントを接続しました。このウィンドウを閉じてかまいません。
result-cancelled = キャンセルしました。アカウントは接続されていません。
result-cancelled-next = このウィンドウを閉じて、後でアプリからアカウントを接続できます。
result-failed = アカウントを接続できませんでした。
result-failed-next = このウィンドウを閉じて、アプリからもう一度お試しください。再び起きた場合は、下の詳細を添えてアプリのサポートにお知らせください。
result-unreachable = このウィンドウは結果をアプリに渡せません。開いたページに届かず、アプリは戻り先のページ (return_urls) を登録していません。

## エラーページ

error-refused = この接続を開始できませんでした
error-refused-next = このウィンドウを開いたアプリが、このサービスではできないことを求めました。このウィンドウを閉じて、アプリからもう一度お試しください。再び起きた場合は、下の詳細を添えてアプリのサポートにお知らせください。
error-expired = このウィンドウの有効期限が切れました
error-expired-next = このウィンドウを閉じて、アプリから最初からやり直してください。
error-busy = 試行回数が多すぎます
error-busy-next = 1 分ほど待ってから、このウィンドウを閉じてアプリからもう一度お試しください。
error-upstream = サービスが応答しませんでした
error-upstream-next = 選んだサービスが時間内に応答しなかったか、エラーを返しました。このウィンドウを閉じて、数分後にもう一度お試しください。
error-unavailable = サービスが混み合っています
error-unavailable-next = このウィンドウを閉じて、1 分後にもう一度お試しください。
error-failed = 問題が発生しました
error-failed-next = このウィンドウを閉じて、もう一度お試しください。再び起きた場合は、アプリのサポートにお知らせください。
error-code = エラーコード { $code }、HTTP ステータス { $status }

## エラーページ: 設定エラーのコードごとの説明

setup-invalid_client = このアプリはこのサーバーに登録されていません。client_id がないか、不明です。
setup-untrusted_origin = このウィンドウを開いたページは、アプリの Trusted Domains のどれにもありません。
setup-invalid_return_to = アプリが指定した戻り先のページは、登録済みの戻り先ページではありません。
setup-sign_in_token_required = このアプリは接続ごとにサインイントークンを必要としますが、指定されていません。
setup-invalid_scope = アプリが求めたサービスは、このサーバーでは提供されていません。
setup-unsupported_response_type = アプリが求めたサインインの方式は、このサーバーでは提供されていません。

## The organisation-wide form (an admin authorizes the app for the whole organisation)

org-heading = 組織の { $service } を接続
org-asks = { $app } が組織のユーザーの { $service } アカウントへのアクセスを求めています。組織の管理者が一度だけ承認します:
org-client-id = クライアント ID:
org-scopes = OAuth スコープ: { $scopes }、その後「承認」。
org-give = 下に組織のドメインと管理者のメールアドレスを入力し、「確認」を押してください。
org-docs = このアクセスのしくみ（{ $service } のドキュメントが開きます）
org-domain = ドメイン
org-admin = 管理者のメールアドレス
org-check = 確認
org-consent-steps = Microsoft から組織の管理者としてサインインするよう求められ、組織に対して要求されているアクセス許可が表示されます。内容を確認して [承諾] を選択してください。
org-tenant = 組織のドメインまたはテナント ID
org-give-tenant = 下に組織のドメインまたはテナント ID を入力して「続行」を押してください。管理者としてサインインし、組織全体へのアクセスを許可します。
org-continue = 続行
org-error-tenant = 組織のドメイン（contoso.onmicrosoft.com など）またはテナント ID を入力してください。
org-enterprise = 企業 ID
org-give-enterprise = 下に企業 ID（管理コンソール → アカウントと請求：企業 ID）を入力し、「確認」を押してください。
org-error-enterprise = 企業 ID を入力してください。管理コンソールの「アカウントと請求」に表示される数字のみです。
