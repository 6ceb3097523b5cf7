<?php
// Sign-in at the provincial provider with jumbojett/openid-connect-php 1.x (verifies ES256 and RS256):
// code flow with PKCE; the library keeps state, nonce and the code verifier in the PHP session.
declare(strict_types=1);

require __DIR__ . '/vendor/autoload.php';

use Jumbojett\OpenIDConnectClient;

session_start();

$oidc = new OpenIDConnectClient(
    'https://xacthuc.tinh.gov.vn',      // issuer: discovery at /.well-known/openid-configuration
    'dichvu-mau',
    getenv('CLIENT_SECRET') ?: null      // from the environment, never in code
);
$oidc->setRedirectURL('https://dichvu-mau.tinh.gov.vn/index.php');  // exactly as registered
$oidc->addScope(['openid', 'profile', 'email']);
$oidc->setCodeChallengeMethod('S256');  // PKCE, required by the provider
// $oidc->addAuthParam(['acr_values' => 'LoA2']);  // when the service needs a higher level

if (($_GET['action'] ?? '') === 'logout') {
    $idToken = $_SESSION['id_token'] ?? null;
    session_destroy();
    $oidc->signOut($idToken, 'https://dichvu-mau.tinh.gov.vn/');  // RP-initiated logout
}

$oidc->authenticate();  // redirects to the provider, or finishes the sign-in on the way back
$_SESSION['id_token'] = $oidc->getIdToken();

header('Content-Type: application/json; charset=utf-8');
echo json_encode([
    'sub' => $oidc->getVerifiedClaims('sub'),
    'acr' => $oidc->getVerifiedClaims('acr'),   // check the level of assurance reached
    'name' => $oidc->requestUserInfo('name'),
], JSON_UNESCAPED_UNICODE);
