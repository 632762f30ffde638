// uni-app style service code (hand-written imitation)
var API = {
  recharge: "https://pay.example-bet.com/recharge",
  withdraw: "https://pay.example-bet.com/withdraw",
  lottery: "http://f.apiplus.net/cqssc-20.json",
  lotteryNewly: "http://z.apiplus.net/newly.do?token=demo&code=bjpk10&rows=5&format=json"
};
function placeBet(game, amount, odds) {
  // 下注 / 投注：game=时时彩|北京赛车|六合彩|百家乐
  return fetch(API.recharge + "?game=" + encodeURIComponent(game) + "&bet=" + amount + "&odds=" + odds);
}
function rebate(turnover) { return turnover * 0.012; } // 返水
