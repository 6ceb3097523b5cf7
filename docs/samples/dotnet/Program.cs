// Sign-in at the provincial provider with ASP.NET Core's OpenID Connect handler:
// code flow with PKCE, claims from userinfo, RP-initiated logout on sign-out.
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

var builder = WebApplication.CreateBuilder(args);

builder.Services
    .AddAuthentication(options =>
    {
        options.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
        options.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
    })
    .AddCookie()
    .AddOpenIdConnect(options =>
    {
        options.Authority = "https://xacthuc.tinh.gov.vn";          // discovery: {Authority}/.well-known/openid-configuration
        options.ClientId = "dichvu-mau";
        options.ClientSecret = builder.Configuration["CLIENT_SECRET"]; // from the environment, never in code
        options.ResponseType = OpenIdConnectResponseType.Code;
        options.UsePkce = true;                                       // S256, required by the provider
        options.CallbackPath = "/signin-oidc";                        // register https://<host>/signin-oidc
        options.SignedOutCallbackPath = "/signout-callback-oidc";     // register as a post-logout redirect URI
        options.Scope.Clear();
        options.Scope.Add("openid");
        options.Scope.Add("profile");
        options.Scope.Add("email");
        options.GetClaimsFromUserInfoEndpoint = true;
        options.SaveTokens = true;                                    // id_token_hint for logout
        options.MapInboundClaims = false;                             // keep the provider's claim names
        options.TokenValidationParameters.NameClaimType = "name";
        // Ask for a level of assurance when the service needs one (the policy's minimum applies anyway):
        // options.Events.OnRedirectToIdentityProvider = context =>
        // {
        //     context.ProtocolMessage.AcrValues = "LoA2";
        //     return Task.CompletedTask;
        // };
    });
builder.Services.AddAuthorization();

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();

app.MapGet("/ho-so", (HttpContext context) => new
{
    sub = context.User.FindFirst("sub")?.Value,
    name = context.User.Identity?.Name,
    acr = context.User.FindFirst("acr")?.Value,               // check the level reached
}).RequireAuthorization();

app.MapGet("/dang-xuat", () => Results.SignOut(
    new AuthenticationProperties { RedirectUri = "/" },
    new[] { CookieAuthenticationDefaults.AuthenticationScheme, OpenIdConnectDefaults.AuthenticationScheme }));

app.Run();
